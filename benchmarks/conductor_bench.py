"""Conductor overhead: what a delegation adds around the delegate's own turn.

Measures (never asserts) two legs of every `delegate` call, p95 (the issue's target is
≤ 50 ms each), beside the delegate's own turn time in the same run:

- **in**: the control server received the tool call → the delegate's turn started
  (policy checks, run/hop bookkeeping, the supervisor's send lock, redaction, the paste
  into the lane's pane until the harness reports the turn begun);
- **out**: the delegate's turn finished → the tool result is back at the caller (the
  hop's artifact written, the reply line on the socket, read by the client).

Real parts: an in-process `Supervisor` with its control server on a private socket, a
command lane (the conductor tests' REPL program) in a private tmux server as the
delegate, and the real client side of the socket protocol (`conductor.protocol.call`)
holding the orchestrator lane's token — the same call `laneboard mcp` makes. Prints the
figures and writes JSON to benchmarks/results/conductor_bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.benchlib import ROOT, forget_socket, socket_name, summary

LANE_SCRIPT = ROOT / "tests" / "fixtures" / "conductor_lane.py"


def _config(tmp: Path, ws: Path) -> Path:
    cfg = tmp / "laneboard.yaml"
    lane = (f"    harness: command\n    command: [{sys.executable}, -u, {LANE_SCRIPT}]\n"
            "    ready: \"READY>\\\\s*\\\\Z\"\n    fence: full\n"
            f"    cwd: {ws}\n")
    cfg.write_text(
        "version: 1\ntmux: {session: lbbench}\nlanes:\n"
        f"  main:\n    role: orchestrator\n{lane}    env: {{LANEBOARD_LANE: main}}\n"
        f"  coder:\n    role: coder\n{lane}    env: {{LANEBOARD_LANE: coder}}\n"
        "routing:\n  default: main\n"
        f"artifacts: {{dir: {tmp / 'artifacts'}}}\n"
    )
    return cfg


async def run(n: int) -> dict[str, Any]:
    from laneboard.conductor import start_control_server
    from laneboard.conductor.protocol import call, lane_token
    from laneboard.config import load_config
    from laneboard.lanes.supervisor import Supervisor

    tmp = Path(tempfile.mkdtemp(prefix="lbb"))
    os.chmod(tmp, 0o700)
    socket = socket_name("conductor")
    os.environ["LANEBOARD_STATE_DIR"] = str(tmp / "s")
    os.environ["LANEBOARD_TMUX_SOCKET"] = socket
    ws = tmp / "ws"
    ws.mkdir()
    sup = Supervisor(load_config(str(_config(tmp, ws))), workspace=ws)
    control = await start_control_server(sup)
    legs_in: list[float] = []
    legs_out: list[float] = []
    turns: list[float] = []
    try:
        await sup.start()
        token = lane_token("main", sup.session)
        for i in range(n + 3):  # the first three warm up (imports, the artifact index)
            doc = await call(control.path, token, "delegate",
                             {"lane": "coder", "task": f"bench task {i}", "timeout_s": 60})
            back = time.time()
            hop = control.hops[str(doc["hop"])]
            if doc.get("state") != "done" or f"bench task {i}" not in str(doc.get("answer")):
                raise SystemExit(f"delegation {i} did not finish: {doc}")
            if i < 3:
                continue
            t = hop.timing
            legs_in.append((t["turn_started"] - t["received"]) * 1000)
            legs_out.append((back - t["turn_finished"]) * 1000)
            turns.append((t["turn_finished"] - t["turn_started"]) * 1000)
    finally:
        await control.close()
        for rt in list(sup.lanes.values()):
            if rt.harness is not None:
                await rt.harness.stop()
        await sup.close()
        await asyncio.to_thread(subprocess.run, ["tmux", "-L", socket, "kill-server"],
                                capture_output=True, check=False)
        forget_socket(socket)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"delegations": n, "delegate": "command lane (tests/fixtures/conductor_lane.py)",
            "in_ms": summary(legs_in), "out_ms": summary(legs_out),
            "delegate_turn_ms": summary(turns), "target_p95_ms": 50}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=40, help="measured delegations (default 40)")
    args = ap.parse_args()
    result = asyncio.run(run(args.n))
    for key in ("in_ms", "out_ms", "delegate_turn_ms"):
        s = result[key]
        print(f"{key:18} p50 {s['p50']:8.1f}  p95 {s['p95']:8.1f}  max {s['max']:8.1f}  (n={s['n']})")
    out = ROOT / "benchmarks" / "results" / "conductor_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out)
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
