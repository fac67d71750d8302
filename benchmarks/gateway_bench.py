"""Gateway overhead: the lane gateway vs the stand-in direct, measured in the same run.

Measures (never asserts): added latency per streamed event (p95; the issue's target is
≤ 1 ms), time-to-first-byte overhead (p95 ≤ 5 ms), events/s through one stream
(≥ 5,000), 32 concurrent streams (no error), gateway RSS (≤ 60 MB) and idle CPU (≈ 0).
The gateway runs as its own process (`python -m laneboard gateway run`), as lanes see it;
the stand-in is the reference upstream. Prints the figures and writes JSON to
benchmarks/results/gateway_bench.json.

Per-event latency: the stand-in runs in this process and stamps each chunk with
`perf_counter()` as it writes it; the client reads the stamp back out of the event, so
each event's delay is arrival minus emission on one clock. The figure is the p95 delay
through the gateway minus the p95 delay direct, over the same paced streams. (Pairing
arrivals of two separate runs by index instead accumulates the stand-in's pacing jitter.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.benchlib import ROOT, cpu_percent, percentile, rss_mb, summary
from laneboard.gateway.client import route_lane, spawn_detached, wait_live
from laneboard.harnesses.private_fs import ensure_private_dir
from laneboard.standins import Reply, StandinServer

BODY = {"model": "claude-bench", "max_tokens": 4096, "stream": True,
        "messages": [{"role": "user", "content": "bench"}]}
PACE_S = 0.002  # paced chunks: each event is its own read, so arrivals compare one to one
HEADERS = {"x-api-key": "sk-ant-bench-0123456789abcdefghijkl", "anthropic-version": "2023-06-01"}


@dataclass(frozen=True)
class _StampedReply(Reply):
    """Chunks that carry the moment the stand-in wrote them."""

    def stream(self, stopping: threading.Event) -> Iterator[str]:
        for _ in super().stream(stopping):
            yield f"@{time.perf_counter():.7f} "


STAMP = re.compile(rb"@(\d+\.\d+)")


async def one_stream(session: aiohttp.ClientSession, url: str) -> tuple[float, list[float], int]:
    """(TTFB s, each stamped event's delay from emission to arrival in s, events)."""
    t0 = time.perf_counter()
    delays: list[float] = []
    events = 0
    buf = b""
    async with session.post(url + "/v1/messages", json=BODY, headers=HEADERS) as r:
        r.raise_for_status()
        ttfb = -1.0
        async for chunk in r.content.iter_any():
            now = time.perf_counter()
            if ttfb < 0:
                ttfb = now - t0
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                events += 1
                m = STAMP.search(ev)
                if m:
                    delays.append(now - float(m.group(1)))
    return ttfb, delays, events


async def measure(direct: str, via: str, standin: StandinServer, rounds: int,
                  chunks: int) -> dict[str, Any]:
    words = " ".join(f"w{i}" for i in range(chunks))
    ttfb: dict[str, list[float]] = {"direct": [], "gateway": []}
    delay: dict[str, list[float]] = {"direct": [], "gateway": []}
    async with aiohttp.ClientSession() as s:
        for _ in range(rounds):
            for who, url in (("direct", direct), ("gateway", via)):
                standin.script(_StampedReply(chunks=tuple(words.split()), delay=PACE_S))
                t, delays, _n = await one_stream(s, url)
                ttfb[who].append(t * 1000)
                delay[who] += [d * 1000 for d in delays]
        # throughput through one long stream
        big = " ".join(f"t{i}" for i in range(20_000))
        standin.script(Reply.text(big))
        t0 = time.perf_counter()
        _t, _arr, events = await one_stream(s, via)
        rate = events / (time.perf_counter() - t0)
        standin.script(Reply.text(big))
        t0 = time.perf_counter()
        _t, _arr, d_events = await one_stream(s, direct)
        d_rate = d_events / (time.perf_counter() - t0)
        # 32 concurrent streams
        for _ in range(32):
            standin.script(Reply.text(words))
        results = await asyncio.gather(*(one_stream(s, via) for _ in range(32)),
                                       return_exceptions=True)
        errors = sum(1 for r in results if isinstance(r, BaseException))
    overhead = [g - d for g, d in zip(ttfb["gateway"], ttfb["direct"], strict=True)]
    return {
        "added_latency_per_event_ms_p95": round(
            percentile(delay["gateway"], 95) - percentile(delay["direct"], 95), 3),
        "added_latency_per_event_ms_p50": round(
            percentile(delay["gateway"], 50) - percentile(delay["direct"], 50), 3),
        "ttfb_overhead_ms_p95": round(percentile(overhead, 95), 3),
        "events_per_s_one_stream": round(rate), "events_per_s_direct": round(d_rate),
        "concurrent_32_errors": errors,
        "series": {"ttfb_ms": {k: summary(v) for k, v in ttfb.items()},
                   "event_delay_ms": {k: summary(v) for k, v in delay.items()}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, chunks = (5, 50) if args.quick else (30, 200)
    with tempfile.TemporaryDirectory() as tmp, StandinServer() as standin:
        folder = ensure_private_dir(Path(tmp) / "gw")
        proc = spawn_detached(folder, supervise=False)
        try:
            info = wait_live(folder, proc=proc)
            via = route_lane(info, "bench", "claude-code", {"base_url": standin.url})
            out = asyncio.run(measure(standin.url, via, standin, rounds, chunks))
            out["gateway_rss_mb"] = round(rss_mb(proc.pid), 1)
            cpu, _ = cpu_percent([proc.pid], [], 3.0)
            out["gateway_idle_cpu_percent"] = round(cpu, 2)
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "gateway_bench.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "series"}, indent=1))


if __name__ == "__main__":
    main()
