"""How fast pane output reaches laneboard's supervisor, against raw control mode and polling.

Figures (issue 8, 1 and 3), each a median over rounds, the references measured in the
same rounds, on a private tmux server per measurement:

- `output_latency_p50_ms`, `output_latency_ms` (p95): a command lane prints
  `tick <i> <CLOCK_MONOTONIC ns>` every 10 ms; the latency of a line is the moment the
  supervisor publishes the `LaneOutput` event that completes it (the data the TUI renders)
  minus the time in the line. Reference: a bare `tmux -C` reader written here (the floor:
  control mode without laneboard's decoding, buffering and event fan-out). Also measured,
  for the plot: `capture-pane` polled at 10 Hz (the usual alternative).
- `ingest_lines_per_s`: one lane prints 200k numbered lines as fast as it can; lines/s
  from the first line to the last through the supervisor's events, and whether every line
  arrived, in order. Reference: the bare control-mode reader.

    python benchmarks/relay_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from benchlib import (  # noqa: E402
    Figure,
    Report,
    forget_socket,
    median,
    percentile,
    ratio,
    rounded,
    summary,
)

from laneboard.harnesses.tmux import TmuxRelay  # noqa: E402
from laneboard.harnesses.tmux_control import unescape_output  # noqa: E402

TICKER = """
import sys, time
n, interval = int(sys.argv[1]), float(sys.argv[2])
input()
nxt = time.monotonic()
for i in range(n):
    sys.stdout.write(f"tick {i} {time.monotonic_ns()}\\n"); sys.stdout.flush()
    nxt += interval
    time.sleep(max(0.0, nxt - time.monotonic()))  # pacing of the emitter, not synchronisation
input()
"""

FLOOD = """
import sys
n = int(sys.argv[1])
input()
out = sys.stdout
for start in range(0, n, 1000):
    out.write("".join(f"line {i}\\n" for i in range(start, min(n, start + 1000))))
out.flush()
input()
"""

_TICK = re.compile(r"tick (\d+) (\d+)")
_LINE = re.compile(r"line (\d+)\r?$")
LineSink = Callable[[str], bool]  # a complete line → True when done


class _Lines:
    """Split streamed text into complete lines for a sink; `done` once the sink says so."""

    def __init__(self, sink: LineSink) -> None:
        self.sink, self.partial, self.done = sink, "", False

    def feed(self, text: str) -> bool:
        *complete, self.partial = (self.partial + text).split("\n")
        for line in complete:
            if self.sink(line):
                self.done = True
                return True
        return False


# -- the receivers -----------------------------------------------------------------------------


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.asynccontextmanager
async def _supervised_lane(code: str, *args: str) -> AsyncIterator[tuple[Any, str, TmuxRelay]]:
    """A Supervisor with one command lane running `code`; yields (event iterator, pane, relay).

    The subscription is open before the lane starts, so no event is missed.
    """
    from laneboard.config import parse_config
    from laneboard.harnesses.command import CommandHarness
    from laneboard.lanes.supervisor import Supervisor

    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        script = tmp / "lane.py"
        script.write_text(code)
        argv = json.dumps([sys.executable, str(script), *args])
        raw = f"version: 1\nlanes:\n  bench: {{role: helper, harness: command, command: {argv}}}\n"
        socket = f"lb-bench-{uuid.uuid4().hex[:8]}"
        with _environ(LANEBOARD_TMUX_SOCKET=socket, LANEBOARD_STATE_DIR=str(tmp / "state")):
            sup = Supervisor(parse_config(raw.encode(), str(tmp / "bench.yaml")), workspace=tmp)
            events = sup.subscribe()  # registered now: the first "starting" is seen
            relay = sup.relay
            try:
                await sup.start()
                harness = sup.lanes["bench"].harness
                if not isinstance(harness, CommandHarness):
                    raise RuntimeError(f"the bench lane did not start: {sup.lanes['bench'].detail}")
                yield events, harness.pane_id, relay
            finally:
                await sup.close()
                await relay.kill_server()
                forget_socket(socket)


async def _via_supervisor(code: str, args: list[str], sink: LineSink, timeout: float) -> None:
    from laneboard.lanes.events import LaneOutput

    async with _supervised_lane(code, *args) as (events, pane, relay):
        lines = _Lines(sink)
        await relay.send_keys(pane, "Enter")

        async def consume() -> None:
            async for ev in events:
                if isinstance(ev, LaneOutput) and lines.feed(ev.data):
                    return

        await asyncio.wait_for(consume(), timeout)


class _RawControl:
    """The floor: a bare control-mode reader, no laneboard code in the path but the
    `\\ooo` unescaping every control-mode reader needs."""

    def __init__(self, relay: TmuxRelay, session: str, pane: str) -> None:
        self.relay, self.session, self.pane = relay, session, pane
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> _RawControl:
        self.proc = await asyncio.create_subprocess_exec(
            *self.relay.tmux_argv, "-C", "attach-session", "-f", "ignore-size",
            "-t", f"={self.session}",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )  # fmt: skip
        assert self.proc.stdout is not None
        while not (await self.proc.stdout.readline()).startswith(b"%session-changed"):
            pass
        return self

    async def lines(self, sink: LineSink) -> None:
        """Feed complete pane lines to `sink` until it returns True."""
        assert self.proc is not None and self.proc.stdout is not None
        prefix = f"%output {self.pane} ".encode()
        partial = b""
        while True:
            raw = await self.proc.stdout.readline()
            if not raw:
                return
            if not raw.startswith(prefix):
                continue
            partial += unescape_output(raw[len(prefix) : -1])
            *done, partial = partial.split(b"\n")
            for line in done:
                if sink(line.decode("utf-8", "replace")):
                    return

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            await self.proc.wait()


@contextlib.asynccontextmanager
async def _bare_lane(code: str, *args: str) -> AsyncIterator[tuple[TmuxRelay, str]]:
    """A lane window made with the relay alone (no supervisor): (relay, pane)."""
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as d:
        tmp = Path(d)
        relay = TmuxRelay(f"lb-bench-{uuid.uuid4().hex[:8]}", state_dir=tmp / "state",
                          default_env={"SHELL": "/bin/sh", "HOME": str(tmp)})
        script = tmp / "lane.py"
        script.write_text(code)
        try:
            window = await relay.create_lane_window(
                "bench", "bench", [sys.executable, str(script), *args], cwd=tmp
            )
            yield relay, window.pane_id
        finally:
            await relay.kill_server()
            forget_socket(relay.socket)


async def _via_raw_control(code: str, args: list[str], sink: LineSink, timeout: float) -> None:
    async with _bare_lane(code, *args) as (relay, pane), _RawControl(relay, "bench", pane) as raw:
        await relay.send_keys(pane, "Enter")
        await asyncio.wait_for(raw.lines(sink), timeout)


async def _via_polling(n: int, interval: float, hz: float = 10.0) -> list[float]:
    """Latencies (ms) of the ticker read by `capture-pane` (scrollback too) every 1/hz s."""
    async with _bare_lane(TICKER, str(n), str(interval)) as (relay, pane):
        latencies: list[float] = []
        seen: set[int] = set()
        await relay.send_keys(pane, "Enter")
        deadline = time.monotonic() + n * interval * 3 + 10
        while len(seen) < n and time.monotonic() < deadline:
            screen = await relay.capture(pane, scrollback=True)
            now = time.monotonic_ns()
            for m in _TICK.finditer(screen):
                i = int(m.group(1))
                if i not in seen:
                    seen.add(i)
                    latencies.append((now - int(m.group(2))) / 1e6)
            await asyncio.sleep(1 / hz)  # the polling rate being measured
        return latencies


# -- the measurements -----------------------------------------------------------------------------


def _ticker_sink(n: int, out: list[float]) -> LineSink:
    def sink(line: str) -> bool:
        m = _TICK.search(line)
        if m is None:
            return False
        out.append((time.monotonic_ns() - int(m.group(2))) / 1e6)
        return int(m.group(1)) + 1 >= n

    return sink


def latency_round(n: int, interval: float = 0.01) -> dict[str, list[float]]:
    """One round: latencies (ms) of `n` ticks through each receiver, one after the other."""
    timeout = n * interval * 3 + 30
    sup: list[float] = []
    raw: list[float] = []
    asyncio.run(_via_supervisor(TICKER, [str(n), str(interval)], _ticker_sink(n, sup), timeout))
    asyncio.run(_via_raw_control(TICKER, [str(n), str(interval)], _ticker_sink(n, raw), timeout))
    poll = asyncio.run(_via_polling(n, interval))
    return {"laneboard": sup, "raw_control": raw, "poll_10hz": poll}


def ingest_round(n: int) -> dict[str, dict[str, Any]]:
    """One round: `n` lines as fast as a lane prints them, through the supervisor and raw."""
    out: dict[str, dict[str, Any]] = {}
    for name, via in (("laneboard", _via_supervisor), ("raw_control", _via_raw_control)):
        count, in_order = 0, True
        first: float | None = None
        last = 0.0

        def sink(line: str) -> bool:
            nonlocal count, in_order, first, last
            m = _LINE.match(line)
            if m is None:
                return False
            last = time.perf_counter()
            first = first or last
            in_order = in_order and int(m.group(1)) == count
            count += 1
            return count >= n

        asyncio.run(via(FLOOD, [str(n)], sink, 120.0))
        seconds = last - (first or last)
        out[name] = {"lines": n, "delivered": count, "in_order": in_order,
                     "seconds": round(seconds, 3),
                     "lines_per_s": count / seconds if seconds else float("nan")}  # fmt: skip
    return out


def figures(quick: bool = False) -> Report:
    """Output latency (p50, p95) and ingest, with raw control mode as the reference."""
    rounds = 1 if quick else 3
    samples = 150 if quick else 300
    lines = 200_000
    report = Report()
    lat: dict[str, list[list[float]]] = {"laneboard": [], "raw_control": [], "poll_10hz": []}
    for _ in range(rounds):
        for k, v in latency_round(samples).items():
            lat[k].append(v)

    def med(who: str, q: float) -> float:
        return median(percentile(r, q) for r in lat[who])

    p50, p95 = med("laneboard", 50), med("laneboard", 95)
    r50, r95 = med("raw_control", 50), med("raw_control", 95)
    poll50, poll95 = med("poll_10hz", 50), med("poll_10hz", 95)
    counts = f"{sum(map(len, lat['laneboard']))}/{rounds * samples} lines"
    report.figures["output_latency_p50_ms"] = Figure(
        rounded(p50, 3), "ms", "record (goal on p95)", True, rounded(r50, 3), ratio(p50, r50),
        f"10 Hz capture-pane polling p50 {poll50:.0f} ms",
    )
    report.figures["output_latency_ms"] = Figure(
        rounded(p95, 3), "ms (p95)", "p95 <= 2 ms and <= 5x raw control mode",
        p95 <= 2 and p95 <= 5 * r95, rounded(r95, 3), ratio(p95, r95),
        f"{counts}; 10 Hz capture-pane polling p95 {poll95:.0f} ms",
    )
    report.series["output_latency_ms"] = {
        who: {"summary": summary([x for r in runs for x in r]),
              "p50_per_round": [round(percentile(r, 50), 3) for r in runs],
              "p95_per_round": [round(percentile(r, 95), 3) for r in runs],
              "samples": [round(x, 3) for r in runs for x in r]}
        for who, runs in lat.items()
    }  # fmt: skip

    ing = [ingest_round(lines) for _ in range(rounds)]
    rate = median(r["laneboard"]["lines_per_s"] for r in ing)
    raw_rate = median(r["raw_control"]["lines_per_s"] for r in ing)
    complete = all(r["laneboard"]["delivered"] == lines and r["laneboard"]["in_order"] for r in ing)
    report.figures["ingest_lines_per_s"] = Figure(
        round(rate), "lines/s", ">= 50% of raw control mode, none lost",
        complete and rate >= 0.5 * raw_rate, round(raw_rate), ratio(rate, raw_rate),
        f"{lines:,} lines x {rounds}: " + ("all delivered in order" if complete else "LINES LOST"),
    )
    report.series["ingest"] = ing
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    report = figures(args.quick)
    print(json.dumps({k: vars(v) for k, v in report.figures.items()}, indent=2))


if __name__ == "__main__":
    main()
