"""Wall time of a whole `laneboard preflight` process (not a test; figures for benchmarks/run.py).

    preflight_offline_ms     `preflight --offline --json` on the shipped cockpit
    preflight_all_down_ms    full `preflight --json` with every live endpoint unreachable:
                             Ollama on a closed loopback port (refused at once), a second
                             Ollama behind a saturated listen queue (SYNs dropped, like a
                             firewalled host: the connect timeout), an unused tmux socket
                             and an empty HOME (no logins)

Each figure is the median of N runs of a fresh interpreter, because a user pays for the
import of the CLI as much as for the probes. The target for the second is under 1.5 s:
probes run in parallel, each with its own short deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "import sys; from laneboard.cli import main; sys.exit(main(sys.argv[1:]))"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Blackhole:
    """A loopback port whose accept queue is full: connects hang until they time out.

    A TEST-NET address would do the same on a real network, but a sandbox without a route
    refuses it at once; a saturated listener blackholes the same way everywhere.
    """

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0)
        self.port: int = self.server.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", self.port))
            self.fillers.append(s)

    def close(self) -> None:
        for s in [*self.fillers, self.server]:
            s.close()


def _all_down_config(directory: Path, blackhole_port: int) -> Path:
    """The shipped cockpit with its Ollama refused, plus a second, blackholed Ollama."""
    import yaml

    data = yaml.safe_load((ROOT / "laneboard" / "default_config.yaml").read_text())
    data["providers"]["ollama"]["base_url"] = f"http://127.0.0.1:{_closed_port()}"
    data["providers"]["ollama-far"] = {
        "harness": "ollama",
        "base_url": f"http://127.0.0.1:{blackhole_port}",
    }
    data["models"]["ollama-far/qwen3:7b"] = {"tier": "local"}
    data["lanes"]["far"] = {
        "role": "helper",
        "harness": "ollama",
        "model": "ollama-far/qwen3:7b",
        "fence": "read-only",
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    npm_bin = ROOT / ".cache" / "npm" / "node_modules" / ".bin"
    if npm_bin.is_dir():
        env["PATH"] = f"{npm_bin}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        HOME=str(home),
        LANEBOARD_TMUX_SOCKET=f"lb-bench-{uuid.uuid4().hex[:8]}",
        PYTHONPATH=str(ROOT),
    )
    for name in ("ANTHROPIC_API_KEY", "CODEX_HOME", "CLAUDE_CONFIG_DIR", "LANEBOARD_CONFIG"):
        env.pop(name, None)
    return env


def _median_ms(argv: list[str], env: dict[str, str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", RUN, *argv], env=env, cwd=cwd, capture_output=True, text=True
        )
        times.append((time.perf_counter() - start) * 1000)
        json.loads(proc.stdout)  # it must have produced one JSON document
    return round(statistics.median(times), 1)


def preflight_offline_ms(runs: int = 5) -> float:
    """Median wall time (ms) of `laneboard preflight --offline --json`."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        config = _all_down_config(d, _closed_port())
        return _median_ms(
            ["preflight", "--config", str(config), "--offline", "--json"], _env(d), d, runs
        )


def preflight_all_down_ms(runs: int = 5) -> float:
    """Median wall time (ms) of a full `laneboard preflight --json`, every endpoint down."""
    hole = Blackhole()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            config = _all_down_config(d, hole.port)
            return _median_ms(["preflight", "--config", str(config), "--json"], _env(d), d, runs)
    finally:
        hole.close()


def figures(runs: int = 5) -> dict[str, float]:
    return {
        "preflight_offline_ms": preflight_offline_ms(runs),
        "preflight_all_down_ms": preflight_all_down_ms(runs),
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(json.dumps(figures(n), indent=2))
