"""laneboard's performance suite: every figure of issue 8, next to its reference limit.

    python benchmarks/run.py [--quick] [--json FILE] [--only NAME[,NAME]]

Prints a table (figure, value, unit, reference measured in the same run, ratio, goal, ok)
and writes the same as JSON: {"machine": {...}, "figures": {name: {value, unit, reference,
ratio, goal, ok, note}}, "series": {...}} (series: raw samples and percentiles for
`plot.py`). Each figure is a median over repeated runs; nothing is hard-coded. Needs tmux
only (no agent CLIs: the lanes are `harness: command`). `--only` takes group names
(help, route, preflight, send, relay, first_frame, cockpit) or figure names. `--quick`
runs fewer and shorter repetitions (under a minute); the full run takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from benchlib import (  # noqa: E402
    ROOT,
    Figure,
    Report,
    Tmux,
    laneboard_argv,
    laneboard_env,
    median,
    ratio,
)


def _wall_ms(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   cwd=cwd, check=False)
    return (time.perf_counter() - t0) * 1000


def _interleaved(runs: int, *argvs: list[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> list[float]:
    """Median wall time (ms) of each argv, run alternately `runs` times (same noise for all)."""
    times: list[list[float]] = [[] for _ in argvs]
    for _ in range(runs):
        for i, argv in enumerate(argvs):
            times[i].append(_wall_ms(argv, env, cwd))
    return [median(t) for t in times]


HEAVY_PROBE = """
import json, sys
from laneboard.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in ("textual", "libtmux") if m in sys.modules)))
"""


def group_help(quick: bool, want: set[str]) -> Report:
    """`laneboard --help` whole process vs `python -c pass` (lazy imports keep it small)."""
    with tempfile.TemporaryDirectory() as d:
        env = laneboard_env(Path(d), "unused")
        ref, val = _interleaved(5 if quick else 15, [sys.executable, "-c", "pass"],
                                [*laneboard_argv(), "--help"], env=env)
        probe = subprocess.run([sys.executable, "-c", HEAVY_PROBE], env=env, capture_output=True,
                               text=True, check=False).stdout.strip().splitlines()
    heavy = json.loads(probe[-1]) if probe else ["(probe failed)"]
    report = Report()
    report.figures["help_ms"] = Figure(
        round(val, 1), "ms", "< 200 ms, no Textual or libtmux imported", val < 200 and not heavy,
        round(ref, 1), ratio(val, ref),
        "reference: python -c pass; "
        + (f"imports {', '.join(heavy)}" if heavy else "imports neither Textual nor libtmux"),
    )
    return report


def group_route(quick: bool, want: set[str]) -> Report:
    import route_bench

    runs = [route_bench.route_decisions_per_s(seconds=0.7 if quick else 2.0)
            for _ in range(2 if quick else 3)]
    val = median(runs)
    report = Report()
    report.figures["route_decisions_per_s"] = Figure(
        round(val), "1/s", ">= 20,000/s", val >= 20_000, None, None,
        f"1,000 rules, per CPU-second, median of {len(runs)}",
    )
    return report


def group_preflight(quick: bool, want: set[str]) -> Report:
    import preflight_bench

    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory() as d:
        ref = _interleaved(runs, [sys.executable, "-c", "pass"], env=laneboard_env(Path(d), "x"))[0]
    report = Report()
    for name, fn in (
        ("preflight_offline_ms", preflight_bench.preflight_offline_ms),
        ("preflight_all_down_ms", preflight_bench.preflight_all_down_ms),
    ):
        val = fn(runs=runs)
        goal = "< 1500 ms" if name == "preflight_all_down_ms" else "< 1500 ms (record)"
        report.figures[name] = Figure(round(val, 1), "ms", goal, val < 1500, round(ref, 1),
                                      ratio(val, ref), "reference: python -c pass")
    return report


ECHO = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("echo: " + line.rstrip("\\n"), flush=True)
        print("READY>", flush=True)
    """
)


def group_send(quick: bool, want: set[str]) -> Report:
    """`laneboard send --wait` to a command lane that echoes: whole process, and the share
    of it that is start-up (`laneboard --version`: interpreter and CLI import)."""
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
        sock = f"lb-bench-send-{uuid.uuid4().hex[:8]}"
        env = laneboard_env(d / "state", sock)
        argv = [*laneboard_argv(), "send", "--wait", "--config", str(cfg), "echo", "ping"]
        try:
            first = subprocess.run(argv, env=env, cwd=d, capture_output=True, text=True, check=False)
            if "echo: ping" not in first.stdout:
                raise RuntimeError(f"laneboard send did not echo: {first.stdout!r} {first.stderr!r}")
            val, startup = _interleaved(runs, argv, [*laneboard_argv(), "--version"], env=env, cwd=d)
        finally:
            Tmux(sock).kill()
    report = Report()
    report.figures["send_roundtrip_ms"] = Figure(
        round(val, 1), "ms", "record", True, round(startup, 1), ratio(val, startup),
        f"start-up (laneboard --version) is {100 * startup / val:.0f}%; lane already running",
    )
    return report


def group_relay(quick: bool, want: set[str]) -> Report:
    import relay_bench

    return relay_bench.figures(quick)


def group_first_frame(quick: bool, want: set[str]) -> Report:
    import tui_bench

    return tui_bench.figures(quick)


def group_cockpit(quick: bool, want: set[str]) -> Report:
    import cockpit_bench

    return cockpit_bench.figures(quick, want or None)


GROUPS: dict[str, tuple[Callable[[bool, set[str]], Report], tuple[str, ...]]] = {
    "help": (group_help, ("help_ms",)),
    "route": (group_route, ("route_decisions_per_s",)),
    "preflight": (group_preflight, ("preflight_offline_ms", "preflight_all_down_ms")),
    "send": (group_send, ("send_roundtrip_ms",)),
    "relay": (group_relay, ("output_latency_p50_ms", "output_latency_ms", "ingest_lines_per_s")),
    "first_frame": (group_first_frame, ("first_frame_ms",)),
    "cockpit": (group_cockpit, ("cpu_idle_8_lanes_pct", "cpu_streaming_8_lanes_pct",
                                "screen_latency_ms", "typing_latency_ms",
                                "rss_mb_after_1m_lines")),
}


def machine() -> dict[str, object]:
    def out(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False,
                                  cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with open("/proc/meminfo") as fh:
        mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.1f} GB"
    import textual

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tmux": out("tmux", "-V"),
        "textual": textual.__version__,
        "commit": out("git", "describe", "--always", "--dirty"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def select(only: str | None) -> dict[str, set[str]]:
    """Groups to run and, per group, the figures asked for (empty: all of the group)."""
    if not only:
        return {g: set() for g in GROUPS}
    chosen: dict[str, set[str]] = {}
    for name in (n.strip() for n in only.split(",") if n.strip()):
        for group, (_, figs) in GROUPS.items():
            if name == group:
                chosen[group] = set()
                break
            if name in figs:
                if chosen.get(group) != set():  # not already the whole group
                    chosen.setdefault(group, set()).add(name)
                break
        else:
            names = ", ".join([*GROUPS, *(f for _, fs in GROUPS.values() for f in fs)])
            raise SystemExit(f"run.py: unknown group or figure {name!r} (one of: {names})")
    return chosen


def _finite(obj: Any) -> Any:
    """NaN (a figure that could not be measured) becomes null: JSON has no NaN."""
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def print_table(figures: dict[str, Figure]) -> None:
    """The table (notes below it: they are long)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, shutil.get_terminal_size((120, 24)).columns))
    table = Table("figure", "value", "unit", "reference", "ratio", "goal", "ok")
    for name, f in figures.items():
        table.add_row(
            name, f"{f.value:g}", f.unit, "-" if f.reference is None else f"{f.reference:g}",
            "-" if f.ratio is None else f"{f.ratio:g}", f.goal,
            "yes" if f.ok else "[bold red]NO[/]",
        )
    console.print(table)
    for name, f in figures.items():
        if f.note:
            console.print(f"[bold]{name}[/]: {f.note}", highlight=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter repetitions (< 1 min)")
    ap.add_argument("--json", dest="json_path", help="also write the figures as JSON here")
    ap.add_argument("--only", help="comma-separated groups or figures: " + ", ".join(GROUPS))
    args = ap.parse_args(argv)
    chosen = select(args.only)
    info = machine()
    report = Report()
    errors: dict[str, str] = {}
    started = time.perf_counter()
    for group, want in chosen.items():
        t0 = time.perf_counter()
        print(f"… {group}", file=sys.stderr, flush=True)
        try:
            got = GROUPS[group][0](args.quick, want)
        except Exception as e:  # one broken group must not lose the others' figures
            traceback.print_exc()
            errors[group] = f"{type(e).__name__}: {e}"
            continue
        for name in [f for f in got.figures if want and f not in want]:
            del got.figures[name]
        report.update(got)
        print(f"  {group}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    order = [f for _, figs in GROUPS.values() for f in figs]
    figures = {k: report.figures[k] for k in order if k in report.figures}
    print_table(figures)
    elapsed = time.perf_counter() - started
    print(f"{len(figures)} figures in {elapsed:.0f} s"
          f" ({'quick' if args.quick else 'full'} run); missed goals: "
          + (", ".join(k for k, f in figures.items() if not f.ok) or "none"), file=sys.stderr)
    for group, message in errors.items():
        print(f"group {group} failed: {message}", file=sys.stderr)
    if args.json_path:
        doc = {"machine": {**info, "quick": args.quick, "seconds": round(elapsed)},
               "figures": {k: asdict(v) for k, v in figures.items()},
               "errors": errors, "series": report.series}
        Path(args.json_path).write_text(json.dumps(_finite(doc), indent=1) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
