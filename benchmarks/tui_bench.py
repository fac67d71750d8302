"""Time to the cockpit's first frame, in a real pseudo-terminal (issue 8, figure 7).

`first_frame_ms`: `laneboard --config CFG` (8 idle command lanes) started on an 80×24 pty
→ the first painted frame (the lane table's title in the bytes written to the terminal),
against a bare Textual app painting one Static, started the same way and interleaved
with it, so both see the same machine. Goal: < 500 ms and ≤ 2.5× the bare app.

    python benchmarks/tui_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from benchlib import (  # noqa: E402
    Figure,
    Report,
    Tmux,
    laneboard_argv,
    laneboard_env,
    median,
    pty_app,
    ratio,
    rounded,
    socket_name,
)

BARE_APP = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("BARE-FIRST-FRAME")

    Bare().run()
    """
)
TITLE = "laneboard \u00b7 lb-demo".encode()


def _idle_config(root: Path, lanes: int = 8) -> Path:
    body = "".join(
        f"  lane{i}: {{role: helper, harness: command, command: [sh, -c, 'read x']}}\n"
        for i in range(lanes)
    )
    cfg = root / "bench.yaml"
    cfg.write_text(f"version: 1\nlanes:\n{body}")
    return cfg


def first_frame_samples(repeat: int) -> tuple[list[float], list[float]]:
    """(cockpit, bare app) times in ms from fork to the first frame, `repeat` of each."""
    cockpit: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        (tmp / "demo").mkdir()
        cfg = _idle_config(tmp)
        bare_py = tmp / "bare.py"
        bare_py.write_text(BARE_APP)
        for _ in range(repeat):
            tmux = Tmux(socket_name("frame"))
            env = laneboard_env(tmp / "state", tmux.socket)
            try:
                with pty_app([*laneboard_argv(), "--config", str(cfg)], env, tmp / "demo") as app:
                    at = app.wait_for(TITLE, 15.0)
                    if at is not None:
                        cockpit.append((at - app.started) * 1000)
            finally:
                tmux.kill()
            with pty_app([sys.executable, str(bare_py)], env, tmp) as app:
                at = app.wait_for(b"BARE-FIRST-FRAME", 15.0)
                if at is not None:
                    bare.append((at - app.started) * 1000)
    return cockpit, bare


def figures(quick: bool = False) -> Report:
    cockpit, bare = first_frame_samples(3 if quick else 9)
    value, reference = median(cockpit), median(bare)
    report = Report()
    report.figures["first_frame_ms"] = Figure(
        rounded(value, 1), "ms", "< 500 ms and <= 2.5x a bare Textual app",
        bool(cockpit) and value < 500 and value <= 2.5 * reference,
        rounded(reference, 1), ratio(value, reference),
        f"median of {len(cockpit)}; 8 idle lanes; reference: a bare Textual app",
    )
    report.series["first_frame_ms"] = {"cockpit": [round(x, 1) for x in cockpit],
                                       "bare_textual": [round(x, 1) for x in bare]}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    report = figures(args.quick)
    print(json.dumps({k: vars(v) for k, v in report.figures.items()}, indent=2))


if __name__ == "__main__":
    main()
