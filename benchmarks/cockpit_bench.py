"""The cockpit under load, in a real pseudo-terminal (issue 8, figures 2, 4, 5 and 9).

One cockpit session (`laneboard --config CFG` on an 80×24 pty, a private tmux socket)
with 8 command lanes running `LANE` below, which waits for commands on its stdin:
`rate R` (print a marker line R times a second), `flood N TAG` (print N lines of 80
characters as fast as it can, then `FLOOD-END TAG`), `mark TAG` (print `MARK-TAG`). The
session goes through phases, each measured:

1. idle — `cpu_idle_8_lanes_pct`: CPU of the cockpit's process tree + the tmux server
   over measured windows, 8 lanes alive and silent;
2. streaming, 8 lanes × 20 lines/s, the cockpit in its default view —
   `cpu_streaming_8_lanes_pct` (same accounting) and `screen_latency_ms`: each marker
   `~<lane>:<seq>:<CLOCK_MONOTONIC ns>~` is looked for in the bytes the cockpit writes to
   its terminal; latency = when the pty delivered it − the time in the marker. Only the
   selected lane is on screen in the default view, so lane 0's markers are the samples;
3. typing while the lanes stream — `typing_latency_ms`: a letter written to the pty →
   that letter painted back (letters no lane prints);
4. flood — `rss_mb_after_1m_lines`: the lanes print 1M lines in total (8 × 125k of
   80 characters) in three steps; after each step, once tmux has every line and a mark
   printed by lane 0 afterwards is painted (so the cockpit has taken everything before
   it, see `_await_mark`), the cockpit's RSS is read: at 250k, 500k and 1M lines. Flat
   means the last step grew it by less than 10%. (`--quick`: 200k lines, shorter windows.)

References, measured in the same run on the same 8 lanes in a bare tmux session: for both
CPU figures a loop running `tmux capture-pane` on the 8 panes at 10 Hz (a fork per poll),
its process tree + the tmux server; for the screen latency `MINI_UI`, a minimal Textual
app fed by control mode that flushes a `Log` at 10 Hz.

    python benchmarks/cockpit_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from benchlib import (  # noqa: E402
    Figure,
    MarkerScanner,
    PtyApp,
    Report,
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

LANES = 8
RATE = 20.0
LINE_CHARS = 80
TYPED = b"QZJXKWV"  # letters no lane prints while the keys are typed

LANE = r'''
import sys, termios, threading, time
lane = sys.argv[1]
try:  # the benchmark types commands into the pane: do not echo them into the output
    attrs = termios.tcgetattr(0)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(0, termios.TCSANOW, attrs)
except termios.error:
    pass
out = sys.stdout
lock = threading.Lock()
period = [0.0]
wake = threading.Event()

def ticker():
    seq, nxt = 0, time.monotonic()
    while True:
        if period[0] <= 0:
            wake.wait()
            wake.clear()
            nxt = time.monotonic()
            continue
        seq += 1
        with lock:
            out.write(f"~{lane}:{seq}:{time.monotonic_ns()}~\n")
            out.flush()
        nxt += period[0]
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the emitter's pace
        else:
            nxt = time.monotonic()

threading.Thread(target=ticker, daemon=True).start()
fill = "abcdefghijklmnopqrstuvwxyz0123456789" * 3
for command in sys.stdin:
    words = command.split()
    if not words:
        continue
    if words[0] == "rate":
        rate = float(words[1])
        period[0] = 1 / rate if rate > 0 else 0.0
        wake.set()
    elif words[0] == "flood":
        n, tag = int(words[1]), words[2]
        with lock:
            for start in range(0, n, 500):
                out.write("".join(
                    (f"{lane} {i:09d} " + fill)[:LINE_CHARS] + "\n"
                    for i in range(start, min(n, start + 500))
                ))
                out.flush()
            out.write(f"FLOOD-END {tag}\n")
            out.flush()
    elif words[0] == "mark":
        with lock:
            out.write(f"MARK-{words[1]}\n")
            out.flush()
'''.replace("LINE_CHARS", str(LINE_CHARS))

POLLER = r"""
import subprocess, sys, time
tmux, panes = ["tmux", "-L", sys.argv[1]], sys.argv[2:]
nxt = time.monotonic()
while True:
    for pane in panes:
        subprocess.run([*tmux, "capture-pane", "-p", "-e", "-J", "-t", pane],
                       stdout=subprocess.PIPE, check=True)
    nxt += 0.1
    time.sleep(max(0.0, nxt - time.monotonic()))
"""

MINI_UI = r"""
import asyncio, re, sys
from textual.app import App
from textual.widgets import Log

SOCKET, SESSION, PANE = sys.argv[1:4]
OCTAL = re.compile(rb"\\([0-7]{3})")

class Mini(App):
    def compose(self):
        yield Log(max_lines=2000)

    def on_mount(self):
        self.pending = []
        self.run_worker(self.read())
        self.set_interval(0.1, self.flush)

    async def read(self):
        proc = await asyncio.create_subprocess_exec(
            "tmux", "-L", SOCKET, "-C", "attach-session", "-f", "ignore-size", "-t", "=" + SESSION,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 26)
        prefix = ("%output " + PANE + " ").encode()
        while raw := await proc.stdout.readline():
            if raw.startswith(prefix):
                self.pending.append(OCTAL.sub(lambda m: bytes([int(m[1], 8)]), raw[len(prefix):-1]))

    def flush(self):
        if self.pending:
            data, self.pending = b"".join(self.pending), []
            self.query_one(Log).write(data.decode("utf-8", "replace").replace("\r", ""))

Mini().run()
"""

_MARKER = re.compile(rb"~0:(\d+):(\d+)~")


class ScreenLatency:
    """A pty hook's sink: the first paint of each of lane 0's markers, collected per window
    (latency = when the pty delivered the marker − the time printed in it)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.windows: list[list[float]] = []
        self.printed = 0
        self._open: list[float] | None = None
        self._first = 0

    def __call__(self, now_ns: int, m: re.Match[bytes]) -> None:
        seq = int(m.group(1))
        if seq not in self.seen:
            self.seen[seq] = (now_ns - int(m.group(2))) / 1e6
            if self._open is not None:
                self._open.append(self.seen[seq])

    def begin(self) -> None:
        self._open, self._first = [], max(self.seen, default=0)

    def end(self) -> None:
        if self._open is not None:
            self.windows.append(self._open)
            self.printed += max(self.seen, default=0) - self._first
        self._open = None


@dataclass
class Plan:
    """How long each phase runs."""

    idle_windows: int
    idle_s: float
    stream_windows: int
    stream_s: float
    keys: int
    checkpoints: Sequence[int]  # total lines after each flood step

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:  # a smoke run: too short for the idle goal's resolution, flood not to 1M
            return cls(2, 1.5, 2, 1.5, 21, (50_000, 100_000, 200_000))
        return cls(3, 10.0, 3, 6.0, 70, (250_000, 500_000, 1_000_000))


Cpu = tuple[float, float]  # % of a core: (the UI's process tree, the tmux server)


@dataclass
class Session:
    """What one cockpit session measured."""

    idle: list[Cpu] = field(default_factory=list)
    stream: list[Cpu] = field(default_factory=list)
    screen: ScreenLatency = field(default_factory=ScreenLatency)
    typing_ms: list[float] = field(default_factory=list)
    typing_lost: int = 0
    rss_idle: float = math.nan
    rss: dict[int, float] = field(default_factory=dict)
    flood_s: dict[int, float] = field(default_factory=dict)
    reshown: int = 0  # times the pane stopped following during the flood


def _write_lanes(tmp: Path) -> tuple[Path, Path]:
    script = tmp / "lane.py"
    script.write_text(LANE)
    body = "".join(
        f"  lane{i}: {{role: helper, harness: command, "
        f"command: {json.dumps([sys.executable, '-u', str(script), str(i)])}}}\n"
        for i in range(LANES)
    )
    cfg = tmp / "bench.yaml"
    cfg.write_text(f"version: 1\nlanes:\n{body}")
    return script, cfg


def _all_lanes(tmux: Tmux) -> list[str]:
    panes = tmux.lane_panes()
    return [panes[f"lane{i}"] for i in range(LANES)] if len(panes) >= LANES else []


def _flood_done(tmux: Tmux, panes: Sequence[str], tag: str) -> bool:
    args: list[str] = []
    for pane in panes:
        args += [*([";"] if args else []), "capture-pane", "-p", "-t", pane]
    return tmux.run(*args).count(f"FLOOD-END {tag}") >= len(panes)


def _type_keys(app: PtyApp, keys: int) -> tuple[list[float], int]:
    samples: list[float] = []
    lost = 0
    for i in range(keys):
        if i and i % len(TYPED) == 0:
            app.write(b"\x15")  # ctrl+u: clear the prompt, so the letters stay unique
            time.sleep(0.2)  # a person's pause; the next key is timed on its own
        ch = TYPED[i % len(TYPED) : i % len(TYPED) + 1]
        mark = app.offset
        t0 = time.perf_counter()
        app.write(ch)
        painted = app.wait_for(ch, 2.0, start=mark)
        if painted is None:
            lost += 1
        else:
            samples.append((painted - t0) * 1000)
        time.sleep(0.08)  # typing pace: ~10 keys a second
    app.write(b"\x15")
    return samples, lost


def _await_mark(app: PtyApp, tmux: Tmux, pane: str, tag: str, timeout: float = 300.0) -> int:
    """Have lane 0 print `MARK-<tag>.<n>` until one is painted: then the cockpit has taken
    everything printed before it. Returns how often the pane had to be shown again.

    A mark is printed again each second without a paint, because Textual's `Log.write`
    sizes the log before pruning it to `max_lines`: a flush of more lines than the pane is
    high paints blank rows until a smaller one follows. If the cockpit is idle and still
    paints no mark, the pane has stopped following its output (seen under load during
    floods); the grid is then toggled twice, which refills the pane from the lane's buffer
    and scrolls it to the end, and the event is counted.
    """
    deadline = time.monotonic() + timeout
    first, n, reshown = app.offset, 0, 0
    last = time.monotonic()
    while time.monotonic() < deadline:
        n += 1
        tmux.send_lines([pane], f"mark {tag}.{n}")
        if app.wait_for(f"MARK-{tag}.".encode(), 1.0, start=first) is not None:
            return reshown
        if time.monotonic() - last > 10 and cpu_percent([app.pid], [], 0.5)[0] < 10:
            app.write(b"\x07")  # ctrl+g: the grid
            app.wait_settled(quiet_bytes=4096, window=0.3, timeout=5.0)
            app.write(b"\x07")  # ctrl+g: back to the lane's pane, refilled
            reshown, last = reshown + 1, time.monotonic()
    raise RuntimeError(f"the cockpit never painted MARK-{tag}.n within {timeout:.0f}s")


def cockpit_session(plan: Plan, want: set[str]) -> Session:
    """Run one cockpit through the phases `want` needs; see the module docstring."""
    out = Session()
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        (tmp / "demo").mkdir()
        _, cfg = _write_lanes(tmp)
        tmux = Tmux(socket_name("cockpit"))
        env = laneboard_env(tmp / "state", tmux.socket)
        try:
            with pty_app([*laneboard_argv(), "--config", str(cfg)], env, tmp / "demo") as app:
                app.hooks.append(MarkerScanner(_MARKER, out.screen))
                if app.wait_for(b"laneboard \xc2\xb7 lb-demo", 20.0) is None:
                    raise RuntimeError("the cockpit did not paint its first frame within 20 s")
                panes = wait_until(lambda: _all_lanes(tmux), 30.0, "8 lanes running in tmux")
                server = tmux.server_pid()
                app.wait_settled(quiet_bytes=4096, window=1.0, timeout=20.0)
                out.rss_idle = rss_mb(app.pid)
                if "cpu_idle_8_lanes_pct" in want:
                    for _ in range(plan.idle_windows):
                        out.idle.append(cpu_percent([app.pid], [server], plan.idle_s))
                stream_figs = {"cpu_streaming_8_lanes_pct", "screen_latency_ms", "typing_latency_ms"}
                if want & stream_figs:
                    tmux.send_lines(panes, f"rate {RATE:g}")
                    wait_until(lambda: len(out.screen.seen) >= 3, 10.0, "lane 0's markers painted")
                    for _ in range(plan.stream_windows):
                        out.screen.begin()
                        out.stream.append(cpu_percent([app.pid], [server], plan.stream_s))
                        out.screen.end()
                    if "typing_latency_ms" in want:
                        out.typing_ms, out.typing_lost = _type_keys(app, plan.keys)
                    tmux.send_lines(panes, "rate 0")
                if "rss_mb_after_1m_lines" in want:
                    done = 0
                    for k, total in enumerate(plan.checkpoints):
                        t0 = time.perf_counter()
                        tmux.send_lines(panes, f"flood {(total - done) // LANES} {k}")
                        wait_until(partial(_flood_done, tmux, panes, str(k)), 300.0,
                                   f"flood step {k} printed by every lane", interval=0.2)
                        out.reshown += _await_mark(app, tmux, panes[0], str(k))
                        out.flood_s[total] = time.perf_counter() - t0
                        out.rss[total] = rss_mb(app.pid)
                        done = total
                if not app.alive:
                    raise RuntimeError("the cockpit exited during the session")
        finally:
            tmux.kill()
    return out


@dataclass
class Reference:
    """What the reference session measured: 10 Hz polling's CPU, a minimal UI's screen."""

    idle: list[Cpu] = field(default_factory=list)
    stream: list[Cpu] = field(default_factory=list)
    screen: ScreenLatency = field(default_factory=ScreenLatency)


def reference_session(plan: Plan, want: set[str]) -> Reference:
    """The same 8 lanes in a bare tmux session, read two ways: CPU of a loop running
    `capture-pane` on every pane at 10 Hz (idle, then streaming), and the screen latency of
    `MINI_UI` — a minimal Textual app fed by control mode, flushing to a `Log` at 10 Hz."""
    ref = Reference()
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        script, _ = _write_lanes(tmp)
        tmux = Tmux(socket_name("ref"))
        try:
            cmd = [sys.executable, "-u", str(script)]
            tmux.run("new-session", "-d", "-s", "ref", "-x", "200", "-y", "50", *cmd, "0")
            for i in range(1, LANES):
                tmux.run("new-window", "-d", "-t", "=ref:", *cmd, str(i))
            panes = tmux.run("list-panes", "-s", "-t", "=ref", "-F", "#{pane_id}").split()
            server = tmux.server_pid()
            cpu = want & {"cpu_idle_8_lanes_pct", "cpu_streaming_8_lanes_pct"}
            poller = subprocess.Popen([sys.executable, "-c", POLLER, tmux.socket, *panes]) \
                if cpu else None  # fmt: skip
            try:
                if poller and "cpu_idle_8_lanes_pct" in want:
                    for _ in range(plan.idle_windows):
                        ref.idle.append(cpu_percent([poller.pid], [server], plan.idle_s))
                tmux.send_lines(panes, f"rate {RATE:g}")
                if poller and "cpu_streaming_8_lanes_pct" in want:
                    for _ in range(plan.stream_windows):
                        ref.stream.append(cpu_percent([poller.pid], [server], plan.stream_s))
                if poller and poller.poll() is not None:
                    raise RuntimeError(f"the capture-pane poller failed ({poller.returncode})")
            finally:
                if poller:
                    poller.kill()
                    poller.wait()
            if "screen_latency_ms" in want:
                argv = [sys.executable, "-c", MINI_UI, tmux.socket, "ref", panes[0]]
                with pty_app(argv, laneboard_env(tmp / "state", tmux.socket), tmp) as app:
                    app.hooks.append(MarkerScanner(_MARKER, ref.screen))
                    wait_until(lambda: len(ref.screen.seen) >= 3, 15.0, "markers in the mini UI")
                    for _ in range(plan.stream_windows):
                        ref.screen.begin()
                        time.sleep(plan.stream_s)  # the measurement window
                        ref.screen.end()
        finally:
            tmux.kill()
    return ref


FIGURES = ("cpu_idle_8_lanes_pct", "cpu_streaming_8_lanes_pct", "screen_latency_ms",
           "typing_latency_ms", "rss_mb_after_1m_lines")


def _cpu(windows: list[Cpu]) -> tuple[float, float, float]:
    """Medians over windows: (total, UI tree, tmux server)."""
    return (median(a + b for a, b in windows), median(a for a, _ in windows),
            median(b for _, b in windows))


def figures(quick: bool = False, want: set[str] | None = None) -> Report:
    """Every figure of the cockpit session (or those in `want`)."""
    wanted = set(FIGURES) if want is None else set(want) & set(FIGURES)
    plan = Plan.make(quick)
    report = Report()
    s = cockpit_session(plan, wanted)
    needs_ref = wanted & {"cpu_idle_8_lanes_pct", "cpu_streaming_8_lanes_pct", "screen_latency_ms"}
    ref = reference_session(plan, wanted) if needs_ref else Reference()
    ref_idle, ref_stream = ref.idle, ref.stream
    if "cpu_idle_8_lanes_pct" in wanted:
        (v, ui, srv), (r, rui, rsrv) = _cpu(s.idle), _cpu(ref_idle)
        report.figures["cpu_idle_8_lanes_pct"] = Figure(
            rounded(v, 2), "% of a core", "< 1% (cockpit + tmux server)", v < 1,
            rounded(r, 2), ratio(v, r),
            f"cockpit {ui:.2f} + tmux {srv:.2f}; median of {len(s.idle)} x {plan.idle_s:g} s; "
            f"reference: 10 Hz capture-pane polling ({rui:.1f} + tmux {rsrv:.1f})",
        )
        report.series["cpu_idle_pct"] = {"cockpit": s.idle, "poll_10hz": ref_idle}
    if "cpu_streaming_8_lanes_pct" in wanted:
        (v, ui, srv), (r, rui, rsrv) = _cpu(s.stream), _cpu(ref_stream)
        report.figures["cpu_streaming_8_lanes_pct"] = Figure(
            rounded(v, 1), "% of a core", "< 25% (cockpit + tmux server)", v < 25,
            rounded(r, 1), ratio(v, r),
            f"8 x {RATE:g} lines/s, default view: cockpit {ui:.1f} + tmux {srv:.1f}; median of "
            f"{len(s.stream)} x {plan.stream_s:g} s; reference: 10 Hz capture-pane polling "
            f"({rui:.1f} + tmux {rsrv:.1f}), which paints nothing",
        )
        report.series["cpu_streaming_pct"] = {"cockpit": s.stream, "poll_10hz": ref_stream}
    if "screen_latency_ms" in wanted:
        windows = [w for w in s.screen.windows if w]
        ref_windows = [w for w in ref.screen.windows if w]
        v = median(percentile(w, 95) for w in windows)
        r = median(percentile(w, 95) for w in ref_windows)
        painted = sum(map(len, windows))
        report.figures["screen_latency_ms"] = Figure(
            rounded(v, 1), "ms (p95)", "p95 <= 100 ms (8 x 20 lines/s)", v <= 100,
            rounded(r, 1), ratio(v, r),
            f"p50 {median(percentile(w, 50) for w in windows):.0f} ms; {painted} of "
            f"~{s.screen.printed} lines of the shown lane painted; median of {len(windows)} x "
            f"{plan.stream_s:g} s; reference: a minimal Textual UI fed by control mode, "
            "flushing a Log at 10 Hz",
        )
        report.series["screen_latency_ms"] = summary([x for w in windows for x in w])
        report.series["screen_latency_minimal_ui_ms"] = summary([x for w in ref_windows for x in w])
    if "typing_latency_ms" in wanted:
        v = percentile(s.typing_ms, 95)
        report.figures["typing_latency_ms"] = Figure(
            rounded(v, 1), "ms (p95)", "p95 < 50 ms while 8 lanes stream",
            bool(s.typing_ms) and v < 50 and not s.typing_lost, None, None,
            f"p50 {percentile(s.typing_ms, 50):.0f} ms; {len(s.typing_ms)} keys"
            + (f", {s.typing_lost} never painted" if s.typing_lost else ""),
        )
        report.series["typing_latency_ms"] = summary(s.typing_ms)
    if "rss_mb_after_1m_lines" in wanted and s.rss:
        steps = sorted(s.rss)
        last, before = s.rss[steps[-1]], s.rss[steps[-2]]
        flat = last <= before * 1.10
        full = steps[-1] >= 1_000_000
        report.figures["rss_mb_after_1m_lines"] = Figure(
            rounded(last, 1), "MB", "< 200 MB, flat after the scrollback cap",
            last < 200 and (flat or not full), rounded(s.rss_idle, 1), ratio(last, s.rss_idle),
            "RSS at " + ", ".join(f"{n // 1000}k {s.rss[n]:.0f}" for n in steps) + " MB"
            + ("" if full else " (quick: flatness needs the full run)")
            + f"; reference: the idle cockpit; ~{steps[-1] / sum(s.flood_s.values()):,.0f} "
            "lines/s through the cockpit"
            + (f"; the pane STOPPED FOLLOWING its output {s.reshown}x (re-shown by toggling "
               "the grid)" if s.reshown else ""),
        )
        report.series["rss_mb"] = {"idle": s.rss_idle, **{str(n): s.rss[n] for n in steps}}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated figure names")
    args = parser.parse_args()
    want = set(args.only.split(",")) if args.only else None
    report = figures(args.quick, want)
    print(json.dumps({k: vars(v) for k, v in report.figures.items()}, indent=2))


if __name__ == "__main__":
    main()
