"""Cockpit figures measured in a real pseudo-terminal (issue 8, figures 5 and 7).

- `first_frame_ms`: `laneboard --config CFG` → the first painted frame (the lane table's
  title on the terminal), against a bare Textual app painting one Static, both in a pty
  of 80×24. Goal: < 500 ms and ≤ 2.5× the bare app.
- `typing_latency_ms`: a key written to the pty → that character painted back, while 8
  command lanes each print 20 lines/s (the cockpit in its default view). Goal: p95 < 50 ms.

Both return plain dicts; `benchmarks/run.py` turns them into table rows.

    python benchmarks/tui_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
STREAMER = "import sys,time\\nn=0\\nwhile True:\\n    n+=1; print(n, flush=True); time.sleep({period})"
TYPED = "QZJXKWV"  # letters no lane prints (the lanes print digits only)


def _laneboard_argv() -> list[str]:
    """The installed console script next to this interpreter (not a pyenv/asdf shim, whose
    own start-up would be counted), else the CLI through this interpreter."""
    script = Path(sys.executable).parent / "laneboard"
    if script.is_file():
        return [str(script)]
    exe = shutil.which("laneboard")
    return [exe] if exe else [sys.executable, "-c", "from laneboard.cli import main; main()"]


def _write_config(root: Path, lanes: int, period: float | None) -> Path:
    """A config of `lanes` command lanes: idle shells, or streamers printing every `period`."""
    if period is None:
        cmd = "[sh, -c, 'read x']"
    else:
        code = STREAMER.format(period=period)
        cmd = f'[{sys.executable}, -u, -c, "{code}"]'
    body = "".join(
        f"  lane{i}: {{role: helper, harness: command, command: {cmd}}}\n" for i in range(lanes)
    )
    cfg = root / "bench.yaml"
    cfg.write_text(f"version: 1\nlanes:\n{body}")
    return cfg


@contextlib.contextmanager
def _pty_process(argv: list[str], env: dict[str, str], cwd: Path,
                 size: tuple[int, int] = (80, 24)) -> Iterator[tuple[int, int]]:
    """Run argv on a new pty of `size`; yields (pid, master fd); kills it afterwards."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.chdir(cwd)
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    try:
        yield pid, fd
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            _drain(fd, 0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        os.close(fd)


def _drain(fd: int, timeout: float) -> bytes:
    out = b""
    ready, _, _ = select.select([fd], [], [], timeout)
    while ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        ready, _, _ = select.select([fd], [], [], 0)
    return out


def _wait_for(fd: int, needle: bytes, timeout: float) -> float | None:
    """Seconds until `needle` shows in the pty output, or None at the deadline."""
    start = time.perf_counter()
    seen = b""
    while time.perf_counter() - start < timeout:
        seen += _drain(fd, 0.01)
        if needle in seen:
            return time.perf_counter() - start
        seen = seen[-4096:]
    return None


def _env(tmp: Path, socket: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "NO_COLOR")}
    env.update(TERM="xterm-256color", LANEBOARD_TMUX_SOCKET=socket,
               LANEBOARD_STATE_DIR=str(tmp / "state"), COLUMNS="80", LINES="24")
    return env


def _kill_tmux(socket: str) -> None:
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def first_frame_ms(repeat: int = 5, lanes: int = 4) -> dict[str, Any]:
    """Median time to the first painted frame: laneboard cockpit vs a bare Textual app."""
    cockpit: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        (tmp / "demo").mkdir()
        cfg = _write_config(tmp, lanes, None)
        bare_py = tmp / "bare.py"
        bare_py.write_text(BARE_APP)
        for _ in range(repeat):
            socket = f"lb-bench-{uuid.uuid4().hex[:8]}"
            try:
                t0 = time.perf_counter()
                with _pty_process([*_laneboard_argv(), "--config", str(cfg)],
                                  _env(tmp, socket), tmp / "demo") as (_, fd):
                    took = _wait_for(fd, b"laneboard \xc2\xb7 lb-demo", 10.0)
                    if took is not None:
                        cockpit.append((time.perf_counter() - t0) * 1000)
            finally:
                _kill_tmux(socket)
            t0 = time.perf_counter()
            with _pty_process([sys.executable, str(bare_py)], _env(tmp, "unused"), tmp) as (_, fd):
                if _wait_for(fd, b"BARE-FIRST-FRAME", 10.0) is not None:
                    bare.append((time.perf_counter() - t0) * 1000)
    value = statistics.median(cockpit) if cockpit else float("nan")
    reference = statistics.median(bare) if bare else float("nan")
    return {
        "value": round(value, 1), "unit": "ms", "reference": round(reference, 1),
        "ratio": round(value / reference, 2) if bare and cockpit else None,
        "goal": "< 500 ms and <= 2.5x a bare Textual app",
        "ok": bool(cockpit) and value < 500 and value <= 2.5 * reference,
        "samples": {"cockpit": cockpit, "bare": bare},
    }


def typing_latency_ms(keys: int = 60, lanes: int = 8, lines_per_s: float = 20.0) -> dict[str, Any]:
    """p50/p95 keypress → repaint in the prompt bar while `lanes` lanes stream output."""
    samples: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        (tmp / "demo").mkdir()
        cfg = _write_config(tmp, lanes, 1.0 / lines_per_s)
        socket = f"lb-bench-{uuid.uuid4().hex[:8]}"
        try:
            with _pty_process([*_laneboard_argv(), "--config", str(cfg)],
                              _env(tmp, socket), tmp / "demo") as (_, fd):
                if _wait_for(fd, b"laneboard \xc2\xb7 lb-demo", 15.0) is None:
                    raise RuntimeError("the cockpit did not paint within 15 s")
                _wait_for(fd, b"\xe2\x97\x8f ready", 15.0)  # lanes up and streaming
                _drain(fd, 0.5)
                for i in range(keys):
                    if i and i % len(TYPED) == 0:
                        os.write(fd, b"\x15")  # ctrl+u: clear the line, so letters stay unique
                        _drain(fd, 0.2)
                    ch = TYPED[i % len(TYPED)].encode()
                    t0 = time.perf_counter()
                    os.write(fd, ch)
                    took = _wait_for(fd, ch, 2.0)
                    if took is not None:
                        samples.append((time.perf_counter() - t0) * 1000)
                    _drain(fd, 0.03)
        finally:
            _kill_tmux(socket)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))] if samples else float("nan")
    return {
        "value": round(p95, 1), "unit": "ms (p95)",
        "p50": round(statistics.median(samples), 1) if samples else None,
        "reference": None, "ratio": None, "goal": "p95 < 50 ms with 8 lanes streaming",
        "ok": bool(samples) and p95 < 50, "keys": len(samples), "lost": keys - len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    figures = {
        "first_frame_ms": first_frame_ms(repeat=3 if args.quick else 7),
        "typing_latency_ms": typing_latency_ms(keys=30 if args.quick else 100),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
