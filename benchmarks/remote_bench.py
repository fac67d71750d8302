"""Remote lanes (issue 17): output latency over the SSH channel vs local, and reconnect time.

The "remote host" is a real OpenSSH server this benchmark starts on 127.0.0.1 with
throw-away keys (`tests/fixtures/sshd.py`'s start-up, imported), so both sides run on the
same machine and the difference is exactly what the SSH path adds: one ControlMaster,
the control-mode client's channel carrying the lane's output and the commands of a send
and a status (paste, keys, screen, pane queries: one round trip each, no new session),
any other tmux command an `ssh -S … host -- tmux …` client. Two Supervisors run in the same process, each with one command lane
running the same echo program: `local` (no `host:`) and `remote` (`host: box`), on two
private tmux sockets.

Figures:

- `remote_output_latency_ms` (p95; `remote_output_latency_p50_ms`): send one line the way
  a command lane's `send` does (`relay.deliver`: paste, Enter) and time until the
  program's `echo: <line>` reaches the lane's output stream (the `PaneStream` the cockpit
  renders from). N=100 per side, interleaved local/remote (order alternating) so drift
  hits both; 5 unmeasured warm-up lines each. Reference: the same lane local, same run;
  the ratio is remote p95 / local p95. The series also hold the output-only part: the
  echo line carries the program's CLOCK_MONOTONIC at print time, so "printed → seen"
  is measured on the same clock.
- `remote_reconnect_ms` (median of N=5): SIGKILL the host link's ssh master (a process
  this benchmark's supervisor started, by pid), time until the lane is re-adopted
  (`ready` on a new harness, same pid, no restart) and until a line sent then is echoed.
  Reference: the re-adoption part alone.

Everything started here is stopped here, by pid or by our own socket names: the sshd,
both tmux servers, the ssh masters. The remote side keeps laneboard's launcher files in
its default private dir (`~/.cache/laneboard/run/<socket>` of the ssh user), as a real
remote host would; that small directory is left in place (it is outside any temp dir).

    python -m benchmarks.remote_bench [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from benchlib import (  # noqa: E402
    ROOT,
    Figure,
    Report,
    forget_socket,
    median,
    percentile,
    ratio,
    rounded,
    summary,
)

ECHO = """
import sys, time
print("READY>", flush=True)
for line in sys.stdin:
    print(f"echo: {line.strip()} {time.monotonic_ns()}", flush=True)
    print("READY>", flush=True)
"""

_ECHO = re.compile(r"echo: (\S+) (\d+)\r?\n")
_TIMEOUT = 30.0


# -- the set-up ------------------------------------------------------------------------------


@contextlib.contextmanager
def _environ(**values: str | None) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, o in old.items():
            if o is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = o


def _config(tmp: Path, socket: str, host: str | None, sshd: Any) -> str:
    lane = (
        f"    role: helper\n    harness: command\n"
        f"    command: {json.dumps([sys.executable, '-u', str(tmp / 'echo.py')])}\n"
        f'    ready: "READY>\\\\s*$"\n    fence: full\n'
        f"    restart: {{backoff_s: 0.05, burst: 3, interval_s: 60}}\n"
    )
    text = f"version: 1\ntmux: {{socket: {socket}, session: lb-bench}}\n"
    if host is not None:
        text += (
            f"hosts:\n  {host}: {{ssh: \"{sshd.user}@127.0.0.1\", port: {sshd.port}, "
            f"identity_file: \"{sshd.identity}\"}}\n"
        )
        lane += f"    host: {host}\n"
    return text + "lanes:\n  echo:\n" + lane


async def _until(check: Callable[[], Any], timeout: float, what: str) -> None:
    """Re-check `check` every 5 ms until true; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: still not true after {timeout:.0f}s")
        await asyncio.sleep(0.005)  # the poll interval of a bounded wait on a condition


# -- one line through a lane -----------------------------------------------------------------


async def _echo_ms(sup: Any, token: str) -> tuple[float, float]:
    """Send `token` to the lane and wait for its echo on the lane's output stream:
    (send → seen, printed → seen) in ms; then wait for the next prompt (not timed)."""
    rt = sup.lanes["echo"]
    harness = rt.harness
    stream = await harness.output_stream()
    relay = sup.relay_for(rt)
    mark = stream.position
    deadline = time.monotonic() + _TIMEOUT
    t0 = time.monotonic_ns()
    await relay.deliver(stream.pane_id, token, bracketed=False)
    seen = printed = 0
    while True:
        text = stream.text_since(mark)
        if not seen:
            for m in _ECHO.finditer(text):
                if m.group(1) == token:
                    seen, printed = time.monotonic_ns(), int(m.group(2))
                    mark += m.end()
                    break
        if seen and "READY>" in stream.text_since(mark):
            return (seen - t0) / 1e6, (seen - printed) / 1e6
        left = deadline - time.monotonic()
        if left <= 0 or stream.closed or stream.dead:
            raise TimeoutError(f"{token!r}: no echo on the {sup.socket} lane's stream")
        await stream.wait(left)


async def _latency(local: Any, remote: Any, n: int) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {
        side: {"send_to_seen": [], "print_to_seen": []} for side in ("local", "remote")
    }
    for i in range(5):
        await _echo_ms(local, f"warm-l{i}")
        await _echo_ms(remote, f"warm-r{i}")
    for i in range(n):
        order = [("local", local), ("remote", remote)]
        for side, sup in order if i % 2 == 0 else order[::-1]:
            rtt, one_way = await _echo_ms(sup, f"ping-{side}-{i}")
            out[side]["send_to_seen"].append(rtt)
            out[side]["print_to_seen"].append(one_way)
    return out


# -- a dropped link --------------------------------------------------------------------------


async def _reconnects(remote: Any, n: int, masters: set[int]) -> list[dict[str, Any]]:
    """Kill the link's master `n` times; per drop: ms to re-adopted and to answering."""
    rt = remote.lanes["echo"]
    link = remote.relays.links["box"]
    rounds: list[dict[str, Any]] = []
    for i in range(n):
        harness, master, pid = rt.harness, link.master_pid, rt.pid
        if master is None or pid is None or rt.state != "ready":
            raise RuntimeError(f"remote lane not ready before drop {i}: {rt.state} {rt.detail}")
        masters.add(master)
        t0 = time.perf_counter()
        os.kill(master, signal.SIGKILL)  # the ssh master our supervisor started
        await _until(
            lambda h=harness: rt.harness is not None and rt.harness is not h
            and rt.state == "ready",
            60, f"lane re-adopted after drop {i}",
        )  # fmt: skip
        adopted = time.perf_counter()
        if link.master_pid is not None:
            masters.add(link.master_pid)
        await _echo_ms(remote, f"after-drop-{i}")
        answered = time.perf_counter()
        rounds.append({
            "readopted_ms": round((adopted - t0) * 1000, 1),
            "answering_ms": round((answered - t0) * 1000, 1),
            "same_pid": rt.pid == pid, "restarts": rt.restarts,
            "new_master": link.master_pid not in (None, master),
        })  # fmt: skip
    return rounds


# -- the run ---------------------------------------------------------------------------------


async def _run(
    n: int, drops: int, tmp: Path, sshd: Any, sockets: dict[str, str]
) -> dict[str, Any]:
    from laneboard.config import parse_config
    from laneboard.lanes.supervisor import Supervisor

    (tmp / "echo.py").write_text(ECHO)
    sups: dict[str, Any] = {}
    masters: set[int] = set()
    try:
        for side, host in (("local", None), ("remote", "box")):
            ws = tmp / side
            ws.mkdir()
            raw = _config(tmp, sockets[side], host, sshd)
            sups[side] = Supervisor(parse_config(raw.encode(), str(ws / "laneboard.yaml")),
                                    workspace=ws)  # fmt: skip
            await sups[side].start(["echo"])
            rt = sups[side].lanes["echo"]
            if rt.state != "ready":
                raise RuntimeError(f"the {side} lane did not start: {rt.state} {rt.last_error}")
        master = sups["remote"].relays.links["box"].master_pid
        if master is not None:
            masters.add(master)
        lat = await _latency(sups["local"], sups["remote"], n)
        rec = await _reconnects(sups["remote"], drops, masters)
        return {"latency": lat, "reconnects": rec, "ssh_masters": len(masters)}
    finally:
        for side, sup in sups.items():
            relay = sup.relays.for_host(None if side == "local" else "box")
            with contextlib.suppress(Exception):
                await sup.close()
            with contextlib.suppress(Exception):
                await relay.kill_server()  # remote: through a fresh link, closed next
            if side == "remote":
                for link in sup.relays.links.values():
                    with contextlib.suppress(Exception):
                        await link.close()
                    # a master still unreaped here is ours (its pid cannot be reused yet)
                    if link.master_pid is not None:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(link.master_pid, signal.SIGKILL)


def measure(n: int, drops: int) -> dict[str, Any]:
    """Start the sshd, run both measurements, stop everything; the raw results."""
    from tests.fixtures.sshd import _start

    tag = uuid.uuid4().hex[:8]
    sockets = {"local": f"lb-bench-local-{tag}", "remote": f"lb-bench-remote-{tag}"}
    with tempfile.TemporaryDirectory(prefix="lb-bench-remote-") as d:
        tmp = Path(d)
        sshd = _start(tmp)
        try:
            sshd.trust_host_key()
            ssh_cfg = tmp / "ssh_config"
            ssh_cfg.write_text(f"Host *\n  UserKnownHostsFile {sshd.known_hosts}\n")
            with _environ(LANEBOARD_SSH_CONFIG=str(ssh_cfg), LANEBOARD_TMUX_SOCKET=None,
                          LANEBOARD_STATE_DIR=str(tmp / "state"), LANEBOARD_CONFIG=None):
                return asyncio.run(_run(n, drops, tmp, sshd, sockets))
        finally:
            for socket in sockets.values():  # both servers run on this machine: ours, by name
                subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True,
                               check=False)  # fmt: skip
                forget_socket(socket)
            sshd.proc.terminate()
            try:
                sshd.proc.wait(10)
            except subprocess.TimeoutExpired:
                sshd.proc.kill()
                sshd.proc.wait()


def figures(quick: bool = False) -> Report:
    n, drops = (30, 3) if quick else (100, 5)
    raw = measure(n, drops)
    lat, rec = raw["latency"], raw["reconnects"]
    report = Report()

    def pct(side: str, q: float, kind: str = "send_to_seen") -> float:
        return percentile(lat[side][kind], q)

    r50, r95, l50, l95 = pct("remote", 50), pct("remote", 95), pct("local", 50), pct("local", 95)
    o95r, o95l = pct("remote", 95, "print_to_seen"), pct("local", 95, "print_to_seen")
    counts = f"{len(lat['remote']['send_to_seen'])}+{len(lat['local']['send_to_seen'])} lines"
    report.figures["remote_output_latency_p50_ms"] = Figure(
        rounded(r50, 2), "ms", "record (same lane local as reference)", True,
        rounded(l50, 2), ratio(r50, l50), "send -> echo seen on the lane's output stream",
    )
    report.figures["remote_output_latency_ms"] = Figure(
        rounded(r95, 2), "ms (p95)", "record; p95 ratio remote/local, same run", True,
        rounded(l95, 2), ratio(r95, l95),
        f"{counts}; output path only (printed -> seen) p95 {o95r:.2f} ms remote vs "
        f"{o95l:.2f} ms local",
    )
    ok = all(r["same_pid"] and r["restarts"] == 0 and r["new_master"] for r in rec)
    answer = median(r["answering_ms"] for r in rec)
    adopt = median(r["readopted_ms"] for r in rec)
    report.figures["remote_reconnect_ms"] = Figure(
        rounded(answer, 1), "ms (median)", "re-adopted without restart, answering again", ok,
        rounded(adopt, 1), ratio(answer, adopt),
        f"{len(rec)} drops (ssh master SIGKILLed); reference: to re-adopted "
        + ("same pid, 0 restarts, new master each time" if ok else "A LANE WAS RESTARTED"),
    )
    report.series["remote_latency_ms"] = {
        side: {kind: {"summary": summary(v), "samples": [round(x, 3) for x in v]}
               for kind, v in kinds.items()}
        for side, kinds in lat.items()
    }  # fmt: skip
    report.series["remote_reconnects"] = rec
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=30 lines, 3 drops")
    args = parser.parse_args()
    report = figures(args.quick)
    figs = {k: vars(v) for k, v in report.figures.items()}
    print(json.dumps(figs, indent=2))
    out = ROOT / "benchmarks" / "results" / "remote_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"figures": figs, "series": report.series}, indent=1))
    tmp.replace(out)
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
