"""How fast pane output reaches laneboard: the relay vs. raw control mode vs. polling.

Why: the relay streams output through a tmux control-mode client instead of polling
`capture-pane`. This measures what that buys, on a private tmux socket:

- latency: a pane prints `tick <i> <CLOCK_MONOTONIC ns>` every 10 ms; each receiver
  notes when it sees the line. Receivers: the relay (`TmuxRelay.stream` subscription), a
  bare `tmux -C` reader written here (the floor: control mode without the relay's
  decoding and buffering), and `capture-pane` polled at 10 Hz (the usual alternative).
- ingest: a pane prints 200k numbered lines as fast as it can; lines/s through the relay
  and through the bare reader, and whether every line arrived, in order.

`latency()` and `ingest()` return dicts of figures; `run()` returns both;
`python -m benchmarks.relay_bench` prints them as JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from laneboard.harnesses.control import unescape_output
from laneboard.harnesses.tmux import TmuxRelay

TICKER = """
import sys, time
n, interval = int(sys.argv[1]), float(sys.argv[2])
input()
for i in range(n):
    sys.stdout.write(f"tick {i} {time.monotonic_ns()}\\n"); sys.stdout.flush()
    time.sleep(interval)  # pacing of the emitter, not synchronisation
input()
"""

FLOOD = """
import sys
n = int(sys.argv[1])
input()
out = sys.stdout
for i in range(n):
    out.write(f"line {i}\\n")
out.flush()
input()
"""

_TICK = re.compile(r"tick (\d+) (\d+)")
_LINE = re.compile(r"line (\d+)\r?$")


def _summary(latencies_ns: list[int], expected: int) -> dict[str, float]:
    ms = sorted(x / 1e6 for x in latencies_ns)
    if not ms:
        return {"samples": 0, "expected": expected}
    return {
        "samples": len(ms),
        "expected": expected,
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 3),
        "max_ms": round(ms[-1], 3),
    }


class _Bench:
    """A private tmux server with one session for the duration of a measurement."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="lb-bench-"))
        self.relay = TmuxRelay(
            f"lb-bench-{uuid.uuid4().hex[:8]}",
            state_dir=self.tmp / "state",
            default_env={"SHELL": "/bin/sh", "HOME": str(self.tmp)},
        )
        self.session = "bench"

    async def lane(self, name: str, code: str, *args: str) -> str:
        script = self.tmp / f"{name}.py"
        script.write_text(code)
        window = await self.relay.create_lane_window(
            self.session, name, [sys.executable, str(script), *args], cwd=self.tmp
        )
        return window.pane_id

    async def close(self) -> None:
        await self.relay.kill_server()


class _RawControl:
    """The floor: a bare control-mode reader, no relay code in the path."""

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

    async def lines(self, on_line: Callable[[str], bool]) -> None:
        """Feed complete pane lines to `on_line` until it returns True."""
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
                if on_line(line.decode("utf-8", "replace")):
                    return

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            await self.proc.wait()


async def _latency_relay(n: int, interval: float) -> dict[str, float]:
    bench = _Bench()
    try:
        pane = await bench.lane("ticker", TICKER, str(n), str(interval))
        stream = await bench.relay.stream(pane)
        latencies: list[int] = []
        seen = 0
        partial = ""
        await bench.relay.send_keys(pane, "Enter")
        async for text in stream.subscribe():
            now = time.monotonic_ns()
            *done, partial = (partial + text).split("\n")
            for line in done:
                m = _TICK.search(line)
                if m:
                    latencies.append(now - int(m.group(2)))
                    seen = int(m.group(1)) + 1
            if seen >= n:
                break
        return _summary(latencies, n)
    finally:
        await bench.close()


async def _latency_raw(n: int, interval: float) -> dict[str, float]:
    bench = _Bench()
    try:
        pane = await bench.lane("ticker", TICKER, str(n), str(interval))
        latencies: list[int] = []
        async with _RawControl(bench.relay, bench.session, pane) as raw:
            await bench.relay.send_keys(pane, "Enter")

            def on_line(line: str) -> bool:
                m = _TICK.search(line)
                if m:
                    latencies.append(time.monotonic_ns() - int(m.group(2)))
                    return int(m.group(1)) + 1 >= n
                return False

            await raw.lines(on_line)
        return _summary(latencies, n)
    finally:
        await bench.close()


async def _latency_poll(n: int, interval: float, hz: float = 10.0) -> dict[str, float]:
    bench = _Bench()
    try:
        pane = await bench.lane("ticker", TICKER, str(n), str(interval))
        latencies: list[int] = []
        seen: set[int] = set()
        await bench.relay.send_keys(pane, "Enter")
        deadline = time.monotonic() + n * interval * 3 + 10
        last = -1
        while last < n - 1 and time.monotonic() < deadline:
            screen = await bench.relay.capture(pane, scrollback=True)
            now = time.monotonic_ns()
            for m in _TICK.finditer(screen):
                i = int(m.group(1))
                if i not in seen:
                    seen.add(i)
                    latencies.append(now - int(m.group(2)))
                    last = max(last, i)
            await asyncio.sleep(1 / hz)  # the polling rate being measured
        return _summary(latencies, n)
    finally:
        await bench.close()


async def _ingest_relay(n: int) -> dict[str, Any]:
    bench = _Bench()
    try:
        pane = await bench.lane("flood", FLOOD, str(n))
        stream = await bench.relay.stream(pane)
        expected = 0
        in_order = True
        partial = ""
        await bench.relay.send_keys(pane, "Enter")
        start = None
        async for text in stream.subscribe():
            *done, partial = (partial + text).split("\n")
            for line in done:
                m = _LINE.match(line)
                if m:
                    start = start or time.perf_counter()
                    in_order = in_order and int(m.group(1)) == expected
                    expected += 1
            if expected >= n:
                break
        elapsed = time.perf_counter() - (start or time.perf_counter())
        return {"lines": n, "delivered": expected, "in_order": in_order,
                "seconds": round(elapsed, 3), "lines_per_s": round(expected / elapsed) if elapsed else None}  # fmt: skip
    finally:
        await bench.close()


async def _ingest_raw(n: int) -> dict[str, Any]:
    bench = _Bench()
    try:
        pane = await bench.lane("flood", FLOOD, str(n))
        count = 0
        in_order = True
        start: float | None = None
        async with _RawControl(bench.relay, bench.session, pane) as raw:
            await bench.relay.send_keys(pane, "Enter")

            def on_line(line: str) -> bool:
                nonlocal count, in_order, start
                m = _LINE.match(line)
                if m:
                    start = start or time.perf_counter()
                    in_order = in_order and int(m.group(1)) == count
                    count += 1
                return count >= n

            await raw.lines(on_line)
        elapsed = time.perf_counter() - (start or time.perf_counter())
        return {"lines": n, "delivered": count, "in_order": in_order,
                "seconds": round(elapsed, 3), "lines_per_s": round(count / elapsed) if elapsed else None}  # fmt: skip
    finally:
        await bench.close()


def latency(samples: int = 200, interval: float = 0.01) -> dict[str, dict[str, float]]:
    """Output latency p50/p95 (ms): relay, bare control mode, 10 Hz capture-pane polling."""
    return {
        "relay": asyncio.run(_latency_relay(samples, interval)),
        "raw_control": asyncio.run(_latency_raw(samples, interval)),
        "poll_10hz": asyncio.run(_latency_poll(samples, interval)),
    }


def ingest(lines: int = 200_000) -> dict[str, dict[str, Any]]:
    """Lines/s for `lines` printed as fast as possible, and whether all arrived in order."""
    return {
        "relay": asyncio.run(_ingest_relay(lines)),
        "raw_control": asyncio.run(_ingest_raw(lines)),
    }


def run() -> dict[str, Any]:
    return {"latency": latency(), "ingest": ingest()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
