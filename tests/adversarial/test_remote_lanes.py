"""Promise under attack: a remote lane runs only what its argv says, on a host whose key
the user already trusts, and a remote model server stays on that host's loopback.

Attacks (against a real sshd on 127.0.0.1, tests/fixtures/sshd.py):
- an unknown host key: refused with a message that says how to add it, and nothing runs
  (no login in sshd's log, no canary file);
- shell metacharacters in a lane's argv, its cwd and a prompt (`; touch canary`, `$(…)`,
  backticks, quotes) reach the remote host as text: the remote shell never runs them;
- a host string that ssh would read as an option or a shell would read as code: refused
  by the config (exit 2 with the field's position);
- a model server on a network address for a remote provider: flagged by preflight, and
  the live host checks see the host, its tmux and the lane's binary.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from laneboard.config import load_config
from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
from laneboard.harnesses.ssh_link import HostKeyUnknown, SshLink
from laneboard.lanes.preflight.hosts import host_checks
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import PROMPT, async_wait_until

pytestmark = pytest.mark.slow

CANARY_ARGS = [
    "; touch {c}1",
    "$(touch {c}2)",
    "`touch {c}3`",
    "' ; touch {c}4 ; '",
    "&& touch {c}5 #",
]


@pytest.fixture
def remote_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # $LANEBOARD_TMUX_SOCKET wins over a relay's configured socket; the test names its own
    monkeypatch.delenv("LANEBOARD_TMUX_SOCKET", raising=False)
    name = f"lb-remote-{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


@pytest.fixture
async def trusted_link(sshd: Sshd, tmp_path: Path) -> AsyncIterator[SshLink]:  # noqa: F811
    sshd.trust_host_key()
    link = SshLink(sshd.target(), control_dir=tmp_path / "ctl", connect_timeout=15)
    try:
        yield link
    finally:
        await link.close()


async def test_unknown_host_key_is_refused_and_nothing_runs(
    sshd: Sshd, tmp_path: Path  # noqa: F811
) -> None:
    # known_hosts is empty: the key was never added
    link = SshLink(sshd.target(), control_dir=tmp_path / "ctl", connect_timeout=5)
    canary = tmp_path / "canary"
    with pytest.raises(HostKeyUnknown) as err:
        await link.run(["touch", str(canary)])
    message = str(err.value)
    assert "not known" in message and "ssh-keyscan" in message and str(sshd.port) in message
    assert not canary.exists()
    assert link.master_pid is None
    assert "Accepted" not in (sshd.dir / "sshd.log").read_text()
    assert sshd.known_hosts.read_text() == ""  # nothing auto-accepted
    await link.close()


async def test_a_wrong_host_key_is_refused(sshd: Sshd, tmp_path: Path) -> None:  # noqa: F811
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    pub = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    sshd.known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {pub}\n")
    link = SshLink(sshd.target(), control_dir=tmp_path / "ctl", connect_timeout=5)
    with pytest.raises(HostKeyUnknown):
        await link.ensure()
    assert "Accepted" not in (sshd.dir / "sshd.log").read_text()


async def test_metacharacters_reach_the_remote_host_as_text(
    trusted_link: SshLink, remote_socket: str, tmp_path: Path
) -> None:
    c = str(tmp_path / "canary")
    args = [a.format(c=c) for a in CANARY_ARGS]
    odd_cwd = tmp_path / "dir; touch x $(id)"
    odd_cwd.mkdir()
    relay = RemoteTmuxRelay(
        trusted_link, remote_socket, remote_state_dir=str(tmp_path / "state"),
        default_env={"SHELL": "/bin/sh", "PS1": PROMPT, "ENV": "", "HOME": str(tmp_path)},
    )  # fmt: skip
    window = await relay.create_lane_window(
        "ws", "meta", ["/bin/sh", "-c", 'printf "<%s>\\n" "$@"; exec /bin/sh -i', "sh", *args],
        cwd=str(odd_cwd),
    )  # fmt: skip
    await async_wait_until(lambda: relay.is_alive(window.pane_id), timeout=15)

    async def shown() -> bool:
        return PROMPT in await relay.capture(window.pane_id)

    await async_wait_until(shown, timeout=15)
    screen = await relay.capture(window.pane_id)
    for a in args:
        assert f"<{a}>" in screen  # each argument arrived whole, as text
    # a prompt full of shell syntax is typed into the lane, never run by ssh's shell
    await relay.deliver(window.pane_id, f"echo '$(touch {c}6)' `true`", bracketed=False)

    async def echoed() -> bool:
        return f"$(touch {c}6)" in await relay.capture(window.pane_id)

    await async_wait_until(echoed, timeout=15)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("canary")) == []
    assert not (tmp_path / "x").exists()
    await relay.kill_lane(window)
    await relay.close()


@pytest.mark.parametrize(
    "dest", ["-oProxyCommand=touch canary", "me@host;touch canary", "me@$(touch canary)",
             "me@host canary", "`id`@host"],
)
def test_host_strings_with_options_or_shell_syntax_are_refused(tmp_path: Path, dest: str) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "version: 1\nhosts:\n  gpu:\n    ssh: " + repr(dest).replace("'", '"') + "\n"
        "lanes:\n  a:\n    role: helper\n    harness: command\n    command: [sh]\n    host: gpu\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "laneboard", "config", "check", str(cfg)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "hosts.gpu.ssh" in proc.stderr and "config.yaml:4" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "canary").exists()


async def test_preflight_flags_a_remote_model_server_on_a_network_address(
    sshd: Sshd, tmp_path: Path  # noqa: F811
) -> None:
    sshd.trust_host_key()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "version: 1\n"
        f"hosts:\n  gpu:\n    ssh: {sshd.user}@127.0.0.1\n    port: {sshd.port}\n"
        "providers:\n"
        "  exposed:\n    harness: ollama\n    base_url: http://0.0.0.0:11434\n    host: gpu\n"
        "  kept:\n    harness: ollama\n    base_url: http://127.0.0.1:9\n    host: gpu\n"
        "lanes:\n  a:\n    role: helper\n    harness: command\n    command: [sh]\n    host: gpu\n"
    )
    loaded = load_config(str(cfg))
    offline = await host_checks(loaded, offline=True)
    flagged = [c for c in offline if c.id == "host.model-loopback"]
    assert [(c.subject, c.status) for c in flagged] == [
        ("providers.exposed", "fail"), ("providers.kept", "ok")]
    assert "127.0.0.1" in flagged[0].fix
    assert [c.status for c in offline if c.id == "host.reachable"] == ["skip"]

    live = await host_checks(loaded, offline=False, timeout=10,
                             targets={"gpu": sshd.target("gpu")})
    by_id = {(c.id, c.subject): c for c in live}
    assert by_id[("host.reachable", "hosts.gpu")].status == "ok"
    assert by_id[("host.tmux", "hosts.gpu")].status == "ok"
    assert by_id[("host.binaries", "lanes.a")].status == "ok"
    # port 9 on the host's loopback: nothing answers there
    assert by_id[("host.model-server", "providers.kept")].status == "fail"

    # the same host with its key unknown: a clear fail naming the fix, nothing probed
    sshd.known_hosts.write_text("")
    unknown = await host_checks(loaded, offline=False, timeout=5,
                                targets={"gpu": sshd.target("gpu")})
    key = [c for c in unknown if c.id == "host.key-known"]
    assert key and key[0].status == "fail" and "ssh-keyscan" in key[0].fix
    assert not [c for c in unknown if c.id == "host.tmux"]
