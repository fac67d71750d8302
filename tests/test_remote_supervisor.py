"""Remote lanes wired into the supervisor, with real parts: a real sshd on 127.0.0.1
(tests/fixtures/sshd.py) is the "remote host", a real ControlMaster, the real tmux server
started through ssh on the lane's socket, a real command lane, the real `laneboard lanes
status` CLI in another process, and a stand-in Ollama on the host's loopback.

What they hold (issue 17): a lane with `host: NAME` runs through that host's one link;
send/status/stop work as locally; killing the link's master loses nothing — the
supervisor reconnects and the lane is `ready` again without a restart (same pid),
scrollback included; a provider with `host:` and a loopback base_url is reached through
a forward opened when its lane starts and closed when it stops; ctrl+o's argv for a
remote lane is `ssh -t … tmux attach`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import StandinServer
from laneboard.tui.app import LaneboardApp
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until

pytestmark = [pytest.mark.slow, pytest.mark.tmux]

REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("echo: " + line.rstrip("\\n"), flush=True)
        print("READY>", flush=True)
    """
)


@pytest.fixture
def remote_env(
    sshd: Sshd,  # noqa: F811
    tmux_socket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """The supervisor's env: private socket and state, and an ssh config (ssh -F) whose
    known_hosts holds the test sshd's key: nothing of the machine's ssh set-up is used."""
    sshd.trust_host_key()
    ssh_cfg = tmp_path / "ssh_config"
    ssh_cfg.write_text(f"Host *\n  UserKnownHostsFile {sshd.known_hosts}\n")
    monkeypatch.setenv("LANEBOARD_SSH_CONFIG", str(ssh_cfg))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "repl.py").write_text(REPL)
    yield tmp_path


def config_text(sshd: Sshd, tmp: Path, extra: str = "") -> str:  # noqa: F811
    return textwrap.dedent(
        f"""\
        version: 1
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        lanes:
          echo:
            role: helper
            harness: command
            command: [{sys.executable}, -u, {tmp / 'repl.py'}]
            ready: "READY>\\\\s*$"
            fence: full
            host: box
            restart: {{backoff_s: 0.05, burst: 3, interval_s: 60}}
        """
    ) + extra


async def test_remote_lane_runs_sends_survives_a_dropped_link_and_shows_in_status(
    sshd: Sshd, remote_env: Path, tmux_socket: str  # noqa: F811
) -> None:
    tmp = remote_env
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(config_text(sshd, tmp))
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["echo"])
        rt = sup.lanes["echo"]
        assert rt.state == "ready", rt.last_error
        relay = sup.relay_for(rt)
        assert isinstance(relay, RemoteTmuxRelay) and relay.host == "box"
        link = sup.relays.links["box"]
        master = link.master_pid
        assert master is not None

        # the lane's tmux server was started through ssh: its global env has the session's
        env = subprocess.run(
            ["tmux", "-L", tmux_socket, "show-environment", "-g", "SSH_CONNECTION"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert env.stdout.startswith("SSH_CONNECTION="), env

        result = await sup.send("echo", "hello remote", timeout=30)
        assert result.state == "done" and "echo: hello remote" in result.reply, result
        pid = rt.pid
        assert pid is not None
        harness = rt.harness

        # another process sees the remote lane (its own link, its own control socket)
        cli_env = {k: v for k, v in os.environ.items() if k != "LANEBOARD_CONFIG"}
        out = subprocess.run(
            [sys.executable, "-m", "laneboard.cli", "lanes", "status", "--json",
             "--config", str(cfg_file)],
            cwd=tmp, env=cli_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        row = {r["id"]: r for r in json.loads(out.stdout)["lanes"]}["echo"]
        assert row["state"] == "ready" and row["pid"] == pid, row
        assert link.master_pid == master  # the status process left the cockpit's link alone

        # drop the link: kill the master ssh (a process this supervisor started)
        os.kill(master, signal.SIGKILL)
        await async_wait_until(
            lambda: rt.harness is not None and rt.harness is not harness and rt.state == "ready",
            timeout=60,
        )
        assert rt.pid == pid and rt.restarts == 0  # re-adopted, never restarted
        assert rt.harness is not None and rt.harness.adopted
        assert link.master_pid not in (None, master)  # a new master: reconnected
        os.kill(pid, 0)
        stream = await rt.harness.output_stream()
        assert stream is not None
        assert "echo: hello remote" in await sup.relay_for(rt).capture(stream.pane_id)
        again = await sup.send("echo", "after the drop", timeout=30)
        assert again.state == "done" and "echo: after the drop" in again.reply, again

        await sup.stop_lane("echo")
        assert await sup.relay_for(rt).find_lane(sup.session, "echo") is None
    finally:
        await sup.close()


async def test_provider_on_a_host_is_reached_through_a_forward_its_lane_opens(
    sshd: Sshd, remote_env: Path  # noqa: F811
) -> None:
    """The stand-in listens on the sshd machine's loopback (127.0.0.1 here too: one
    machine). That the forward carries the request: the lane's spec names the forward's
    local port, not the server's, and the stand-in sees the prompt; once the lane stops
    the forward's port refuses connections."""
    tmp = remote_env
    server = StandinServer().start()
    try:
        extra = textwrap.dedent(
            f"""\
            providers:
              gpu: {{harness: ollama, base_url: "http://127.0.0.1:{server.port}", host: box}}
            models:
              gpu/qwen3:7b: {{alias: small, tier: local}}
            """
        )
        text = config_text(sshd, tmp, extra).replace(
            "lanes:\n",
            "lanes:\n  helper:\n    role: helper\n    harness: ollama\n    model: small\n"
            "    fence: read-only\n    gateway: false\n",
            1,
        )
        cfg_file = tmp / "laneboard.yaml"
        cfg_file.write_text(text)
        sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
        try:
            await sup.start(["helper"])
            rt = sup.lanes["helper"]
            assert rt.state == "ready", rt.last_error
            port = sup.relays.forward_port("gpu")
            assert port is not None and port != server.port
            spec = sup.spec_for(rt)
            assert spec.base_url == f"http://127.0.0.1:{port}"
            result = await sup.send("helper", "through the tunnel", timeout=60)
            assert result.state == "done", result
            assert any("through the tunnel" in p for p in server.prompts())
            await sup.stop_lane("helper")
            assert sup.relays.forward_port("gpu") is None

            async def refused() -> bool:
                try:
                    _r, w = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    return True
                w.close()
                return False

            await async_wait_until(refused, timeout=10)
        finally:
            await sup.close()
    finally:
        server.stop()


async def test_attach_argv_of_a_remote_lane_is_ssh_t_tmux_attach(
    sshd: Sshd, remote_env: Path, tmux_socket: str  # noqa: F811
) -> None:
    tmp = remote_env
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(config_text(sshd, tmp))
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        argv = sup.relays.attach_argv(sup.session, "echo")
        assert argv is not None
        assert argv[0] == "ssh" and "-t" in argv and "StrictHostKeyChecking=yes" in argv
        assert argv[-2] == f"{sshd.user}@127.0.0.1"
        assert shlex.split(argv[-1])[-7:] == [
            "select-window", "-t", f"={sup.session}:=echo", ";", "attach-session", "-t",
            f"={sup.session}",
        ]  # fmt: skip
        assert tmux_socket in shlex.split(argv[-1])
    finally:
        await sup.close()


class _NoSuspend:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


async def test_ctrl_o_on_a_remote_lane_runs_ssh_t_tmux_attach_onto_its_window(
    sshd: Sshd, remote_env: Path, tmux_socket: str  # noqa: F811
) -> None:
    """The cockpit (Pilot) on a real supervisor: ctrl+o hands the attach runner `ssh -t …
    tmux attach`; the same ssh prefix, asked for the window's lane option, names it."""
    from laneboard.tui.app import make_app

    tmp = remote_env
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(config_text(sshd, tmp))
    loaded = parse_config(cfg_file.read_bytes(), str(cfg_file))
    sup = Supervisor(loaded, workspace=tmp)
    attached: list[list[str]] = []
    app = make_app(loaded, sup, motion=False, attach_runner=lambda a: attached.append(list(a)))
    try:
        await _attach_through_the_cockpit(app, sup, sshd, attached)
    finally:
        await sup.close()  # closes the SSH master this test's supervisor started


async def _attach_through_the_cockpit(
    app: LaneboardApp, sup: Supervisor, sshd: Sshd, attached: list[list[str]]  # noqa: F811
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await async_wait_until(lambda: sup.lanes["echo"].state == "ready", timeout=60)
        app.main_screen.selected = "echo"
        app.suspend = lambda: _NoSuspend()  # type: ignore[method-assign, assignment, return-value]
        await pilot.press("ctrl+o")
        await async_wait_until(lambda: attached, timeout=10)
        argv = attached[0]
        assert argv[0] == "ssh" and "-t" in argv and argv[-2] == f"{sshd.user}@127.0.0.1"
        words = shlex.split(argv[-1])
        target = words[words.index("select-window") + 2]
        probe = [a for a in argv[:-1] if a != "-t"] + [shlex.join(
            [*words[: words.index("select-window")], "display-message", "-p", "-t", target,
             "#{@laneboard_lane}"])]  # fmt: skip
        out = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=30)
        assert out.stdout.strip() == "echo", out.stderr
