"""laneboard's performance suite: every figure measured here, next to its reference limit.

    python benchmarks/run.py [--quick] [--json FILE] [--only NAME[,NAME]]

Prints a table (figure, value, reference measured in the same run, ratio, goal, ok) and
writes the same as JSON: {"machine": {...}, "figures": {name: {value, unit, reference,
ratio, goal, ok}}}. Each figure is a median over repeated runs; nothing is hard-coded.
Needs tmux only (no agent CLIs). Figures come from the modules beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


@dataclass
class Figure:
    value: float
    unit: str
    goal: str
    ok: bool
    reference: float | None = None
    ratio: float | None = None
    note: str = ""


def _median_wall_ms(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def fig_help_ms(quick: bool) -> dict[str, Figure]:
    """`laneboard --help` whole process vs `python -c pass` (lazy imports keep it small)."""
    runs = 5 if quick else 15
    ref = _median_wall_ms([sys.executable, "-c", "pass"], runs)
    val = _median_wall_ms([sys.executable, "-m", "laneboard.cli", "--help"], runs)
    return {"help_ms": Figure(round(val, 1), "ms", "< 200 ms", val < 200, round(ref, 1), round(val / ref, 2))}


def fig_route(quick: bool) -> dict[str, Figure]:
    import route_bench

    val = route_bench.route_decisions_per_s(seconds=1.0 if quick else 3.0)
    return {"route_decisions_per_s": Figure(round(val), "1/s", ">= 20,000/s", val >= 20_000)}


def fig_preflight(quick: bool) -> dict[str, Figure]:
    import preflight_bench

    runs = 3 if quick else 7
    ref = _median_wall_ms([sys.executable, "-c", "pass"], runs)
    out: dict[str, Figure] = {}
    for name, fn in (
        ("preflight_offline_ms", preflight_bench.preflight_offline_ms),
        ("preflight_all_down_ms", preflight_bench.preflight_all_down_ms),
    ):
        val = fn(runs=runs)
        out[name] = Figure(round(val, 1), "ms", "< 1500 ms", val < 1500, round(ref, 1), round(val / ref, 2))
    return out


ECHO = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("echo: " + line.rstrip("\\n"), flush=True)
        print("READY>", flush=True)
    """
)


def fig_send_roundtrip(quick: bool) -> dict[str, Figure]:
    """`laneboard send --wait` to a command lane that echoes: whole process, and start-up share."""
    runs = 3 if quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "echo.py").write_text(ECHO)
        cfg = d / "cfg.yaml"
        cfg.write_text(
            "version: 1\nlanes:\n  echo:\n    role: helper\n    harness: command\n"
            f"    command: [{sys.executable}, -u, {d / 'echo.py'}]\n"
            '    ready: "READY>\\\\s*$"\n'
        )
        sock = f"lb-bench-{os.getpid()}"
        env = {**os.environ, "LANEBOARD_TMUX_SOCKET": sock, "LANEBOARD_STATE_DIR": str(d / "state")}
        try:
            argv = [sys.executable, "-m", "laneboard.cli", "send", "--wait", "--config", str(cfg), "echo", "ping"]
            subprocess.run(argv, env=env, cwd=d, capture_output=True, check=False)  # start the lane once
            val = _median_wall_ms(argv, runs, env)
            startup = _median_wall_ms([sys.executable, "-m", "laneboard.cli", "--version"], runs, env)
        finally:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    return {
        "send_roundtrip_ms": Figure(
            round(val, 1), "ms", "record", True, round(startup, 1), round(val / startup, 2),
            note=f"start-up share {100 * startup / val:.0f}%",
        )
    }


def _optional(module: str, func: str) -> Callable[[bool], dict[str, Figure]]:
    """Adapter for figure modules that return {name: {value, unit, reference, goal, ok}}."""

    def run(quick: bool) -> dict[str, Figure]:
        mod = __import__(module)
        raw: dict[str, Any] = getattr(mod, func)(quick=quick)
        out = {}
        for name, f in raw.items():
            ref = f.get("reference")
            val = float(f["value"])
            out[name] = Figure(
                round(val, 3), f.get("unit", ""), str(f.get("goal", "")), bool(f.get("ok", True)),
                ref, round(val / ref, 2) if ref else None, str(f.get("note", "")),
            )
        return out

    return run


GROUPS: dict[str, Callable[[bool], dict[str, Figure]]] = {
    "help": fig_help_ms,
    "route": fig_route,
    "preflight": fig_preflight,
    "send": fig_send_roundtrip,
    "relay": _optional("relay_bench", "figures"),
    "tui": _optional("tui_bench", "figures"),
}


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "tmux": subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False).stdout.strip(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    ap.add_argument("--json", dest="json_path", help="also write the figures as JSON here")
    ap.add_argument("--only", help="comma-separated groups: " + ", ".join(GROUPS))
    args = ap.parse_args(argv)
    groups = args.only.split(",") if args.only else list(GROUPS)
    figures: dict[str, Figure] = {}
    for g in groups:
        if g not in GROUPS:
            ap.error(f"unknown group {g!r} (groups: {', '.join(GROUPS)})")
        print(f"… {g}", file=sys.stderr, flush=True)
        try:
            figures.update(GROUPS[g](args.quick))
        except ImportError as e:
            print(f"  skipped {g}: {e}", file=sys.stderr)
    from rich.console import Console
    from rich.table import Table

    table = Table("figure", "value", "unit", "reference", "ratio", "goal", "ok", "note")
    for name, f in figures.items():
        table.add_row(
            name, f"{f.value:g}", f.unit, "-" if f.reference is None else f"{f.reference:g}",
            "-" if f.ratio is None else f"{f.ratio:g}", f.goal, "yes" if f.ok else "NO", f.note,
        )
    Console().print(table)
    if args.json_path:
        doc = {"machine": machine(), "figures": {k: asdict(v) for k, v in figures.items()}}
        Path(args.json_path).write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
