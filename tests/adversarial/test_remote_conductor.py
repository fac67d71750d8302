"""Promise under attack: the conductor's control socket, forwarded to a lane's HOST so that
`laneboard mcp` there can delegate, hands out work to nobody but that lane.

The forward (`ssh -O forward -R host-socket:local-socket`) puts a socket file on the host;
whoever connects to it talks to the supervisor here, which runs agents with write access.
Attacks, with the real sshd fixture as the host (it is this machine, so a second user of
this machine is "another user on the host"):

- a second, unprivileged user (created with `useradd`, acting through `runuser`, as in
  test_tmp_hijack) connects to the socket — through a hard link the test puts in a shared
  1777 folder, so the folders on the way (the lane user's home) do not already stop it and
  only the socket's own mode is tested: refused (EACCES), while the lane's user, through
  the same link, is answered;
- the socket's folder on the host is 0700 and the socket 0600 (sshd's bind mask);
- from the host, through the forward, a caller with a wrong token (made-up, and a real
  HMAC of the lane under another key) is refused by rule `lane-token`; the lane's own
  token (sent on stdin, never argv) is answered — the same path, so the refusals are the
  token's doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from laneboard.conductor import start_control_server
from laneboard.config import parse_config
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.test_remote_conductor import short_state  # noqa: F401  (the fixture)
from tests.test_remote_supervisor import remote_env  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.tmux]

#: Run on the host: one request on the socket $1 with the token read from stdin.
ASK = textwrap.dedent(
    """
    import json, socket, sys
    token = sys.stdin.readline().strip()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1])
    except OSError as e:
        print(json.dumps({"connect": e.errno}))
        raise SystemExit(0)
    s.sendall(json.dumps({"id": 1, "token": token, "method": "lanes", "params": {}}).encode() + b"\\n")
    print(s.makefile().readline().strip())
    """
)


@pytest.fixture(scope="module")
def intruder() -> Iterator[str]:
    """A real second user with no privileges."""
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.fail("this test creates a second user: run it as root with useradd/runuser")
    name = f"lbintruder{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


async def _run(argv: list[str], token: str) -> subprocess.CompletedProcess[str]:
    """Run a client in a thread: the control server answers in this test's event loop."""
    return await asyncio.to_thread(subprocess.run, argv, input=token + "\n",
                                   capture_output=True, text=True, timeout=60, cwd="/")


def _config(sshd: Sshd, tmp: Path) -> str:  # noqa: F811
    return textwrap.dedent(
        f"""\
        version: 1
        tmux: {{session: lbra}}
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        lanes:
          boss:
            role: orchestrator
            harness: command
            command: [{sys.executable}, -u, {tmp / 'repl.py'}]
            ready: "READY>\\\\s*$"
            fence: full
            cwd: {tmp}
            host: box
            worktree: false
          helper:
            role: helper
            harness: command
            command: [{sys.executable}, -u, {tmp / 'repl.py'}]
            ready: "READY>\\\\s*$"
            fence: full
            cwd: {tmp}
        """
    )


async def test_forwarded_control_socket_refuses_other_users_and_wrong_tokens(
    sshd: Sshd, short_state: Path, intruder: str  # noqa: F811
) -> None:
    tmp = short_state
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(_config(sshd, tmp))
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    shared = Path(tempfile.mkdtemp(prefix="lb-shared-", dir="/tmp"))
    shared.chmod(0o1777)
    try:
        await sup.start(["boss"])
        rt = sup.lanes["boss"]
        assert rt.state == "ready", rt.last_error
        spec = sup.spec_for(rt)
        host_socket, token = spec.control_socket, spec.lane_token
        assert host_socket and token and host_socket != str(control.path)
        link = sup.relays.links["box"]
        assert link.reverse_sockets() == {host_socket: str(control.path)}
        assert stat.S_IMODE(os.stat(Path(host_socket).parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(host_socket).st_mode) & 0o077 == 0

        # another user, past the folders: the socket's own mode refuses them
        linked = shared / "ctl.sock"
        os.link(host_socket, linked)
        mine = await _run([sys.executable, "-c", ASK, str(linked)], token)
        assert json.loads(mine.stdout).get("ok") is True, mine.stdout
        theirs = await _run(
            ["runuser", "-u", intruder, "--", "/usr/bin/python3", "-I", "-c", ASK, str(linked)],
            token)  # fmt: skip
        assert json.loads(theirs.stdout) == {"connect": 13}, theirs.stdout + theirs.stderr
        direct = await _run(
            ["runuser", "-u", intruder, "--", "/usr/bin/python3", "-I", "-c", ASK, host_socket],
            token)  # fmt: skip
        assert json.loads(direct.stdout) == {"connect": 13}, direct.stdout + direct.stderr

        # from the host, through the forward: only the lane's own token is answered
        other_key = hmac.new(b"k" * 32, f"{sup.session}\0boss".encode(), hashlib.sha256)
        for wrong in ("0" * 64, other_key.hexdigest(), ""):
            rc, out, err = await link.run([sys.executable, "-I", "-c", ASK, host_socket],
                                          input=(wrong + "\n").encode(), timeout=60)
            assert rc == 0, err
            answer = json.loads(out)
            assert answer.get("ok") is False, answer
            assert answer["error"]["rule"] == "lane-token", answer
        rc, out, err = await link.run([sys.executable, "-I", "-c", ASK, host_socket],
                                      input=(token + "\n").encode(), timeout=60)
        answer = json.loads(out)
        assert answer.get("ok") is True, (answer, err)
        assert {row["id"] for row in answer["result"]["lanes"]} >= {"boss", "helper"}
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(shared)
        await control.close()
        await sup.close()
