"""The cockpit at 8, 32 and 64 command lanes, each figure beside its reference (issue 18).

For each lane count N the same measurements run, so the table shows how a figure grows:

- `first_frame_ms`: `laneboard --config CFG` (N idle lanes) on a 160×50 pty → the lane
  table's title painted, median of a few starts; reference: a bare Textual app painting
  one Static, started the same way in between (`tui_bench.BARE_APP`).
- one cockpit session with N lanes running `cockpit_bench.LANE` (a line printer driven by
  commands typed into its pane), the cockpit in its default view (lane 0 shown):
  - `cpu_idle_pct`: CPU of the cockpit's process tree + the tmux server, lanes silent;
  - `cpu_streaming_pct`: the same while every lane prints `RATE` (5) lines/s;
  - `screen_latency_ms`: a marker printed by lane 0 (it carries CLOCK_MONOTONIC) → the
    cockpit wrote it to its terminal, p95 (median over windows);
  - `typing_latency_ms`: a letter written to the pty → painted back in the prompt bar,
    p95, while the lanes stream;
  - `rss_mb`: the cockpit's RSS after the lanes printed `total_lines` lines in all (1M in
    the full run) and a later mark of lane 0 was painted (`cockpit_bench._await_mark`);
    reference: the same cockpit's RSS idle, before the flood.
- references in a bare tmux server with the same N panes running the same program and
  no cockpit: the tmux server's CPU idle and streaming (what any viewer pays at least),
  and the screen latency of `cockpit_bench.MINI_UI` (a minimal Textual app fed by
  control mode, flushing a Log at 10 Hz) reading lane 0.
- `notification_latency_ms`: see `notification_samples` (what it measures and why).

    python benchmarks/scale_bench.py [--quick] [--lanes 8,32,64]

Prints a table per figure and writes benchmarks/results/scale_bench.json; `--quick`
uses shorter windows and a smaller flood (`total_lines` says how many). docs/perf/scale.md
and docs/perf/scale.png are made from the JSON by `scale_report.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

import cockpit_bench  # noqa: E402
import tui_bench  # noqa: E402
from benchlib import (  # noqa: E402
    ROOT,
    Figure,
    MarkerScanner,
    PtyApp,
    Tmux,
    cpu_percent,
    laneboard_argv,
    laneboard_env,
    median,
    percentile,
    pty_app,
    ratio,
    rounded,
    rss_mb,
    socket_name,
    summary,
    wait_until,
)

RATE = 5.0
SIZE = (160, 50)
RESULTS = HERE / "results" / "scale_bench.json"
Cpu = tuple[float, float]


@dataclass(frozen=True)
class Plan:
    idle_windows: int
    idle_s: float
    stream_windows: int
    stream_s: float
    keys: int
    total_lines: int
    frames: int
    notices: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(2, 3.0, 2, 3.0, 21, 128_000, 1, 6)
        return cls(3, 8.0, 3, 5.0, 42, 1_000_000, 3, 16)


# -- configs -------------------------------------------------------------------------------


def _lane_config(tmp: Path, lanes: int) -> Path:
    script = tmp / "lane.py"
    script.write_text(cockpit_bench.LANE)
    body = "".join(
        f"  lane{i}: {{role: helper, harness: command, restart: {{policy: never}}, "
        f"command: {json.dumps([sys.executable, '-u', str(script), str(i)])}}}\n"
        for i in range(lanes)
    )
    cfg = tmp / f"scale{lanes}.yaml"
    cfg.write_text(f"version: 1\nlanes:\n{body}{NOTIFICATIONS}")
    return cfg


def _panes(tmux: Tmux, lanes: int) -> list[str]:
    panes = tmux.lane_panes()
    if not all(f"lane{i}" in panes for i in range(lanes)):
        return []
    return [panes[f"lane{i}"] for i in range(lanes)]


# -- first frame ---------------------------------------------------------------------------


def first_frames(lanes: int, repeat: int) -> tuple[list[float], list[float]]:
    """(cockpit, bare Textual app) ms from fork to the first frame, interleaved."""
    cockpit: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        (tmp / "demo").mkdir()
        cfg = tui_bench._idle_config(tmp, lanes)
        bare_py = tmp / "bare.py"
        bare_py.write_text(tui_bench.BARE_APP)
        for _ in range(repeat):
            tmux = Tmux(socket_name("frame"))
            env = laneboard_env(tmp / "state", tmux.socket)
            try:
                with pty_app([*laneboard_argv(), "--config", str(cfg)], env, tmp / "demo",
                             SIZE) as app:
                    at = app.wait_for(tui_bench.TITLE, 30.0)
                    if at is not None:
                        cockpit.append((at - app.started) * 1000)
            finally:
                tmux.kill()
            with pty_app([sys.executable, str(bare_py)], env, tmp, SIZE) as app:
                at = app.wait_for(b"BARE-FIRST-FRAME", 30.0)
                if at is not None:
                    bare.append((at - app.started) * 1000)
    return cockpit, bare


# -- the cockpit session -------------------------------------------------------------------


@dataclass
class Session:
    idle: list[Cpu] = field(default_factory=list)
    stream: list[Cpu] = field(default_factory=list)
    screen: cockpit_bench.ScreenLatency = field(default_factory=cockpit_bench.ScreenLatency)
    typing_ms: list[float] = field(default_factory=list)
    typing_lost: int = 0
    rss_idle: float = math.nan
    rss: dict[int, float] = field(default_factory=dict)
    reshown: int = 0
    notify_ms: list[float] = field(default_factory=list)
    notify_lost: int = 0


@contextlib.contextmanager
def cockpit(tmp: Path, lanes: int) -> Iterator[tuple[PtyApp, Tmux, list[str]]]:
    """A cockpit on a pty with `lanes` running lanes on a private tmux server."""
    (tmp / "demo").mkdir(exist_ok=True)
    cfg = _lane_config(tmp, lanes)
    tmux = Tmux(socket_name(f"scale{lanes}"))
    env = laneboard_env(tmp / "state", tmux.socket)
    try:
        with pty_app([*laneboard_argv(), "--config", str(cfg)], env, tmp / "demo", SIZE) as app:
            if app.wait_for(tui_bench.TITLE, 30.0) is None:
                raise RuntimeError("the cockpit did not paint its first frame within 30 s")
            panes = wait_until(lambda: _panes(tmux, lanes), 180.0, f"{lanes} lanes in tmux",
                               interval=0.3)
            yield app, tmux, panes
            if not app.alive:
                raise RuntimeError("the cockpit exited during the session")
    finally:
        tmux.kill()


def cockpit_session(plan: Plan, lanes: int) -> Session:
    out = Session()
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d, \
            cockpit(Path(d), lanes) as (app, tmux, panes):  # fmt: skip
        app.hooks.append(MarkerScanner(cockpit_bench._MARKER, out.screen))
        server = tmux.server_pid()
        app.wait_settled(quiet_bytes=4096, window=1.5, timeout=60.0)
        out.rss_idle = rss_mb(app.pid)
        for _ in range(plan.idle_windows):
            out.idle.append(cpu_percent([app.pid], [server], plan.idle_s))
        tmux.send_lines(panes, f"rate {RATE:g}")
        wait_until(lambda: len(out.screen.seen) >= 3, 30.0, "lane 0's markers painted")
        for _ in range(plan.stream_windows):
            out.screen.begin()
            out.stream.append(cpu_percent([app.pid], [server], plan.stream_s))
            out.screen.end()
        out.typing_ms, out.typing_lost = cockpit_bench._type_keys(app, plan.keys)
        tmux.send_lines(panes, "rate 0")
        per_lane = plan.total_lines // lanes
        steps = (per_lane // 2, per_lane - per_lane // 2)
        done = 0
        for k, n in enumerate(steps):
            tmux.send_lines(panes, f"flood {n} {k}")
            wait_until(partial(cockpit_bench._flood_done, tmux, panes, str(k)), 600.0,
                       f"flood step {k} printed by every lane", interval=0.3)
            out.reshown += cockpit_bench._await_mark(app, tmux, panes[0], str(k), 600.0)
            done += n * lanes
            out.rss[done] = rss_mb(app.pid)
        tmux.send_lines(panes, f"rate {RATE:g}")
        out.notify_ms, out.notify_lost = notification_samples(
            app, tmux, panes, min(plan.notices, lanes - 1))
    return out


# -- the reference: a bare tmux server -----------------------------------------------------


@dataclass
class Reference:
    idle: list[float] = field(default_factory=list)
    stream: list[float] = field(default_factory=list)
    screen: cockpit_bench.ScreenLatency = field(default_factory=cockpit_bench.ScreenLatency)


def reference_session(plan: Plan, lanes: int) -> Reference:
    """The same N lanes in a bare tmux server, no client: the server's CPU idle and
    streaming, then a minimal control-mode UI's screen latency for lane 0."""
    ref = Reference()
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        script = tmp / "lane.py"
        script.write_text(cockpit_bench.LANE)
        tmux = Tmux(socket_name(f"scaleref{lanes}"))
        try:
            cmd = [sys.executable, "-u", str(script)]
            tmux.run("new-session", "-d", "-s", "ref", "-x", "160", "-y", "40", *cmd, "0")
            for i in range(1, lanes):
                tmux.run("new-window", "-d", "-t", "=ref:", *cmd, str(i))
            panes = tmux.run("list-panes", "-s", "-t", "=ref", "-F", "#{pane_id}").split()
            server = tmux.server_pid()
            wait_until(lambda: _all_started(tmux, lanes), 120.0, "reference lanes started",
                       interval=0.3)
            for _ in range(plan.idle_windows):
                ref.idle.append(cpu_percent([], [server], plan.idle_s)[1])
            tmux.send_lines(panes, f"rate {RATE:g}")
            for _ in range(plan.stream_windows):
                ref.stream.append(cpu_percent([], [server], plan.stream_s)[1])
            argv = [sys.executable, "-c", cockpit_bench.MINI_UI, tmux.socket, "ref", panes[0]]
            with pty_app(argv, laneboard_env(tmp / "state", tmux.socket), tmp, SIZE) as app:
                app.hooks.append(MarkerScanner(cockpit_bench._MARKER, ref.screen))
                wait_until(lambda: len(ref.screen.seen) >= 3, 30.0, "markers in the mini UI")
                for _ in range(plan.stream_windows):
                    ref.screen.begin()
                    time.sleep(plan.stream_s)  # the measurement window
                    ref.screen.end()
        finally:
            tmux.kill()
    return ref


def _all_started(tmux: Tmux, lanes: int) -> bool:
    """Every pane runs python (the lane program), not still the shell exec'ing it."""
    out = tmux.run("list-panes", "-s", "-t", "=ref", "-F", "#{pane_current_command}")
    return sum(1 for c in out.split() if c.startswith("python")) >= lanes


# -- figures -------------------------------------------------------------------------------

GOALS: dict[str, tuple[str, str]] = {  # figure → (unit, goal text)
    "first_frame_ms": ("ms", "< 600 ms at 64 lanes"),
    "cpu_idle_pct": ("% of a core", "< 0.5% at 8 lanes, < 1% at 64 (cockpit + tmux)"),
    "cpu_streaming_pct": ("% of a core", "< 35% at 64 x 5 lines/s (cockpit + tmux)"),
    "screen_latency_ms": ("ms (p95)", "p95 <= 100 ms (shown lane)"),
    "typing_latency_ms": ("ms (p95)", "p95 < 50 ms while the lanes stream"),
    "rss_mb": ("MB", "< 250 MB at 64 lanes after 1M lines"),
    "notification_latency_ms": ("ms (p95)", "p95 < 500 ms"),
}


def _ok(name: str, lanes: int, v: float) -> bool:
    if math.isnan(v):
        return False
    if name == "first_frame_ms":
        return v < 600
    if name == "cpu_idle_pct":
        return v < (0.5 if lanes <= 8 else 1.0)
    if name == "cpu_streaming_pct":
        return v < 35
    if name == "screen_latency_ms":
        return v <= 100
    if name == "typing_latency_ms":
        return v < 50
    if name == "rss_mb":
        return v < 250
    return v < 500


def _fig(name: str, lanes: int, v: float, ref: float | None, note: str, digits: int = 1) -> Figure:
    unit, goal = GOALS[name]
    return Figure(rounded(v, digits), unit, goal, _ok(name, lanes, v),
                  None if ref is None else rounded(ref, digits),
                  None if ref is None else ratio(v, ref), note)


def measure(plan: Plan, lanes: int) -> tuple[dict[str, Figure], dict[str, Any]]:
    """Every figure at `lanes` lanes, with its series."""
    figs: dict[str, Figure] = {}
    series: dict[str, Any] = {}
    print(f"… {lanes} lanes: first frame", file=sys.stderr, flush=True)
    frames, bare = first_frames(lanes, plan.frames)
    figs["first_frame_ms"] = _fig(
        "first_frame_ms", lanes, median(frames), median(bare),
        f"median of {len(frames)}; reference: a bare Textual app", 0)
    series["first_frame_ms"] = {"cockpit": frames, "bare_textual": bare}

    print(f"… {lanes} lanes: cockpit session", file=sys.stderr, flush=True)
    s = cockpit_session(plan, lanes)
    print(f"… {lanes} lanes: reference (bare tmux)", file=sys.stderr, flush=True)
    r = reference_session(plan, lanes)

    total = median(a + b for a, b in s.idle)
    figs["cpu_idle_pct"] = _fig(
        "cpu_idle_pct", lanes, total, median(r.idle),
        f"cockpit {median(a for a, _ in s.idle):.2f} + tmux {median(b for _, b in s.idle):.2f}; "
        f"median of {len(s.idle)} x {plan.idle_s:g} s; reference: the bare tmux server", 2)
    total = median(a + b for a, b in s.stream)
    figs["cpu_streaming_pct"] = _fig(
        "cpu_streaming_pct", lanes, total, median(r.stream),
        f"{lanes} x {RATE:g} lines/s: cockpit {median(a for a, _ in s.stream):.1f} + tmux "
        f"{median(b for _, b in s.stream):.1f}; median of {len(s.stream)} x {plan.stream_s:g} s; "
        "reference: the bare tmux server streaming the same")
    windows = [w for w in s.screen.windows if w]
    ref_windows = [w for w in r.screen.windows if w]
    figs["screen_latency_ms"] = _fig(
        "screen_latency_ms", lanes, median(percentile(w, 95) for w in windows),
        median(percentile(w, 95) for w in ref_windows),
        f"p50 {median(percentile(w, 50) for w in windows):.0f} ms; "
        f"{sum(map(len, windows))} of ~{s.screen.printed} lines of lane 0 painted; "
        "reference: a minimal Textual UI on control mode, 10 Hz")
    series["screen_latency_ms"] = summary([x for w in windows for x in w])
    series["screen_latency_minimal_ui_ms"] = summary([x for w in ref_windows for x in w])
    figs["typing_latency_ms"] = _fig(
        "typing_latency_ms", lanes, percentile(s.typing_ms, 95), None,
        f"p50 {percentile(s.typing_ms, 50):.0f} ms; {len(s.typing_ms)} keys"
        + (f", {s.typing_lost} never painted" if s.typing_lost else ""))
    if s.typing_lost:
        figs["typing_latency_ms"].ok = False
    series["typing_latency_ms"] = summary(s.typing_ms)
    steps = sorted(s.rss)
    figs["rss_mb"] = _fig(
        "rss_mb", lanes, s.rss[steps[-1]], s.rss_idle,
        "RSS at " + ", ".join(f"{n // 1000}k {s.rss[n]:.0f}" for n in steps)
        + " MB lines; reference: the same cockpit idle before the flood"
        + (f"; the pane stopped following {s.reshown}x" if s.reshown else ""))
    series["rss_mb"] = {"idle": s.rss_idle, **{str(n): s.rss[n] for n in steps}}

    ms, lost = s.notify_ms, s.notify_lost
    figs["notification_latency_ms"] = _fig(
        "notification_latency_ms", lanes, percentile(ms, 95), None,
        f"p50 {percentile(ms, 50):.0f} ms; {len(ms)} notices"
        + (f", {lost} never written" if lost else "") + "; " + NOTIFY_NOTE)
    if lost:
        figs["notification_latency_ms"].ok = False
    series["notification_latency_ms"] = summary(ms)
    return figs, series


# -- notifications -------------------------------------------------------------------------

NOTIFICATIONS = "notifications: {desktop: false, debounce_s: 0}\n"
"""No notify-send (the figure is the terminal's bell); no debounce (one notice per lane)."""

NOTIFY_NOTE = (
    "trigger: a lane's process killed by Ctrl-C (tmux send-keys) -> the cockpit's OSC 777 "
    "'laneboard: laneN failed' + bell on its terminal. Command lanes never enter `waiting` "
    "(only claude/codex screens classify as a dialog), so the failed path stands in; "
    "after the state change both share hub -> notifier -> Textual driver write"
)
_NOTICE = re.compile(rb"\x1b\]777;notify;laneboard: lane(\d+) failed;[^\x07]*\x07")


def notification_samples(app: PtyApp, tmux: Tmux, panes: Sequence[str],
                         count: int) -> tuple[list[float], int]:
    """Fail `count` lanes (not lane 0) one at a time, with the other lanes streaming:
    ms from the Ctrl-C sent to their notice written, and how many never came."""
    seen: dict[int, int] = {}

    def noticed(now_ns: int, m: re.Match[bytes]) -> None:
        seen.setdefault(int(m.group(1)), now_ns)

    scanner = MarkerScanner(_NOTICE, noticed, 512)
    app.hooks.append(scanner)
    samples: list[float] = []
    lost = 0
    victims = list(range(len(panes) - 1, 0, -1))[:count]
    try:
        for lane in victims:
            t0 = time.monotonic_ns()
            tmux.run("send-keys", "-t", panes[lane], "C-c")
            try:
                wait_until(partial(dict.__contains__, seen, lane), 10.0, f"lane{lane}'s notice")
            except TimeoutError:
                lost += 1
                continue
            samples.append((seen[lane] - t0) / 1e6)
    finally:
        app.hooks.remove(scanner)
    return samples, lost


# -- output --------------------------------------------------------------------------------


def machine(quick: bool, plan: Plan) -> dict[str, Any]:
    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False,
                              cwd=ROOT).stdout.strip()

    import textual

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tmux": out("tmux", "-V"),
        "textual": textual.__version__,
        "commit": out("git", "describe", "--always", "--dirty"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "quick": quick,
        "plan": asdict(plan),
        "rate_lines_per_s": RATE,
        "total_lines": plan.total_lines,
    }


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def print_table(doc: dict[str, Any]) -> None:
    counts = doc["lanes"]
    print(f"{'figure':26} " + " ".join(f"{n:>16}" for n in counts) + "  goal")
    for name, (unit, goal) in GOALS.items():
        row = doc["figures"].get(name, {})
        cells = []
        for n in counts:
            f = row.get(str(n))
            if f is None or f["value"] is None:
                cells.append(f"{'-':>16}")
                continue
            ref = "" if f["reference"] is None else f" ({f['reference']:g})"
            cells.append(f"{f['value']:g}{ref}{'' if f['ok'] else ' NO'}".rjust(16))
        print(f"{name:26} " + " ".join(cells) + f"  {goal} [{unit}]")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short windows, a smaller flood")
    ap.add_argument("--lanes", default="8,32,64", help="comma-separated lane counts")
    ap.add_argument("--out", default=str(RESULTS), help="where the JSON goes")
    args = ap.parse_args(argv)
    counts = [int(n) for n in re.split(r"[,\s]+", args.lanes.strip()) if n]
    plan = Plan.make(args.quick)
    doc: dict[str, Any] = {"machine": machine(args.quick, plan), "lanes": counts,
                           "figures": {}, "series": {}}
    started = time.perf_counter()
    for n in counts:
        figs, series = measure(plan, n)
        for name, f in figs.items():
            doc["figures"].setdefault(name, {})[str(n)] = asdict(f)
        doc["series"][str(n)] = series
    doc["machine"]["seconds"] = round(time.perf_counter() - started)
    doc["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    doc = _finite(doc)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    print_table(doc)
    print(out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
