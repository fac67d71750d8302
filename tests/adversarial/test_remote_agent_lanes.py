"""Promise under attack: a remote agent lane runs on its host exactly the argv laneboard
built — its cwd, env and file paths arrive as text, never as code; its key never shows
on a command line there; the reverse forward back to the gateway listens on the host's
loopback only; and reading the lane's files back never follows a planted symlink nor
reads without bound.

Attacks (against a real sshd on 127.0.0.1, tests/fixtures/sshd.py, through a real
ControlMaster; the programs run there are this test's own `python -c` snippets):
- a cwd, an argument and env values full of `$(…)`, backticks, `;` and quotes: they
  arrive whole, and no canary file appears;
- an env NAME that is shell syntax, a value with a newline (a second assignment
  smuggled in): refused before anything runs on the host;
- the lane's key while its run is live: no process on the machine has it in its argv
  (the run scans every /proc/*/cmdline itself);
- the reverse forward: bound to 127.0.0.1 on the host, not a wildcard address;
- `command -v` of a program named `$(touch canary)`: missing, nothing ran;
- a transcript path that is a symlink to another file: not read; a path with shell
  syntax: read as that path; a huge file: cut at the limit;
- `kill` of a remote run: the process on the host ends too, not only the ssh client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from laneboard.errors import BinaryMissing, HarnessError
from laneboard.harnesses.remote_host import RemoteHost
from laneboard.harnesses.remote_run import RemoteRun
from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
from laneboard.harnesses.ssh_link import SshLink
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until

pytestmark = pytest.mark.slow

SECRET = "sk-remote-lane-key-5f0e1d2c3b4a69788796a5b4c3d2e1f0"

#: Prints its cwd, argv and two env values as JSON, and how many processes on the
#: machine carry SECRET in their argv right now.
PROBE = (
    "import json, os, sys\n"
    "hits = 0\n"
    "for pid in os.listdir('/proc'):\n"
    "    try:\n"
    "        with open(f'/proc/{pid}/cmdline', 'rb') as f:\n"
    "            hits += os.environ['LB_KEY'].encode() in f.read()\n"
    "    except OSError:\n"
    "        pass\n"
    "print(json.dumps({'cwd': os.getcwd(), 'argv': sys.argv[1:], 'odd': os.environ.get('LB_ODD'),"
    " 'key_len': len(os.environ['LB_KEY']), 'hits': hits, 'home': os.environ.get('HOME')}))\n"
)


@pytest.fixture
async def host(sshd: Sshd, tmp_path: Path) -> AsyncIterator[RemoteHost]:  # noqa: F811
    sshd.trust_host_key()
    link = SshLink(sshd.target(), control_dir=tmp_path / "ctl", connect_timeout=15)
    relay = RemoteTmuxRelay(link, f"lb-adv-{tmp_path.name[-12:]}",
                            remote_state_dir=str(tmp_path / "state"))
    try:
        yield RemoteHost(relay)
    finally:
        await relay.close()
        await link.close()


def _canaries(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.rglob("canary*"))


async def _run(host: RemoteHost, argv: list[str], cwd: str, env: dict[str, str]) -> list[str]:
    deadline = time.monotonic() + 120
    async with RemoteRun(host.link, argv, cwd=cwd, env=env, what="adversarial") as run:
        lines = [line async for line in run.lines(deadline)]
        code = await run.wait()
    assert code == 0, (code, run.stderr_text)
    return lines


async def test_cwd_argv_and_env_with_shell_syntax_arrive_as_text(
    host: RemoteHost, tmp_path: Path
) -> None:
    c = tmp_path / "canary"
    # a directory name cannot hold '/': its commands name a relative canary, looked for
    # in the places a shell running them would have been (the dir, its parent, $HOME)
    odd_dir = tmp_path / "ws; touch canary1 $(touch canary2) `touch canary3`"
    odd_dir.mkdir()
    arg = f"' ; touch {c}4 ; ' $(touch {c}5)"
    odd = f"`touch {c}6`; $(touch {c}7) \"quoted\" 'single' \\ back"
    lines = await _run(host, [sys.executable, "-c", PROBE, arg],
                       str(odd_dir), {"LB_KEY": SECRET, "LB_ODD": odd})
    seen = json.loads(lines[-1])
    assert seen["cwd"] == str(odd_dir)
    assert seen["argv"] == [arg]
    assert seen["odd"] == odd
    assert _canaries(tmp_path) == []
    assert not any((Path.home() / f"canary{n}").exists() for n in (1, 2, 3))


async def test_the_key_is_on_no_command_line_while_the_run_is_live(
    host: RemoteHost, tmp_path: Path
) -> None:
    lines = await _run(host, [sys.executable, "-c", PROBE], str(tmp_path), {"LB_KEY": SECRET})
    seen = json.loads(lines[-1])
    assert seen["key_len"] == len(SECRET)  # it did arrive, by stdin
    assert seen["hits"] == 0  # and no argv on the machine carried it
    assert seen["home"] != "/nonexistent"  # the host's own HOME, not one sent from here


@pytest.mark.parametrize(
    "env",
    [
        {"A;touch CANARY": "1"},
        {"$(touch CANARY)": "1"},
        {"LB_OK": "1\nLB_X=$(touch CANARY)"},
        {"LB_OK": "1\rB=2"},
        {"": "1"},
    ],
)
async def test_bad_env_names_and_values_are_refused_before_anything_runs(
    host: RemoteHost, tmp_path: Path, env: dict[str, str]
) -> None:
    c = str(tmp_path / "canary")
    env = {k.replace("CANARY", c): v.replace("CANARY", c) for k, v in env.items()}
    with pytest.raises(HarnessError, match="cannot send the lane's env"):
        async with RemoteRun(host.link, ["touch", f"{c}-ran"], cwd=str(tmp_path), env=env,
                             what="adversarial"):
            pass
    assert _canaries(tmp_path) == []


async def test_the_reverse_forward_listens_on_the_hosts_loopback_only(
    host: RemoteHost, sshd: Sshd  # noqa: F811
) -> None:
    port = await host.link.open_reverse(sshd.port)
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                               text=True, check=True).stdout.split("\n")
    addrs = {ln.split()[3] for ln in listening if ln.strip()}
    assert addrs == {f"127.0.0.1:{port}"}, listening
    await host.link.close_reverse(port)

    async def gone() -> bool:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                             text=True, check=True).stdout
        return not out.strip()

    await async_wait_until(gone, timeout=30)


async def test_a_program_named_with_shell_syntax_is_missing_and_never_runs(
    host: RemoteHost, tmp_path: Path
) -> None:
    c = tmp_path / "canary"
    for name in (f"$(touch {c}1)", f"x; touch {c}2", f"`touch {c}3`"):
        with pytest.raises(BinaryMissing, match="not found on host 'box'"):
            await host.which(name, {}, what="adversarial", install_hint="-")
    # and a PATH value with shell syntax is a PATH, not code
    with pytest.raises(BinaryMissing):
        await host.which("nope-not-here", {"PATH": f"/x:$(touch {c}4)"}, what="adversarial",
                         install_hint="-")
    assert _canaries(tmp_path) == []


async def test_reading_back_refuses_a_symlink_and_is_bounded(
    host: RemoteHost, tmp_path: Path
) -> None:
    secret = tmp_path / "not-a-transcript.txt"
    secret.write_text("PRIVATE\n")
    planted = tmp_path / "session.jsonl"
    planted.symlink_to(secret)
    assert await host.read_file(str(planted)) is None

    odd = tmp_path / "t; touch canary1 $(touch canary2).jsonl"
    odd.write_text('{"ok": 1}\n')
    got = await host.read_file(str(odd))
    assert got is not None and got.text == '{"ok": 1}\n' and not got.truncated
    assert _canaries(tmp_path) == []
    assert not any((Path.home() / f"canary{n}").exists() for n in (1, 2))

    big = tmp_path / "big.jsonl"
    big.write_bytes(b"x" * 300_000)
    cut = await host.read_file(str(big), limit=100_000)
    assert cut is not None and cut.truncated and len(cut.text) == 100_000


async def test_killing_a_remote_run_ends_the_process_on_the_host(
    host: RemoteHost, tmp_path: Path
) -> None:
    ready = tmp_path / "started"
    program = (
        "import os, sys, pathlib\n"
        f"pathlib.Path({str(ready)!r}).write_text(str(os.getpid()))\n"
        "print('up', flush=True)\n"
        "sys.stdin.read()\n"  # /dev/null: returns at once, so block on a pipe instead
        "r, w = os.pipe()\n"
        "os.read(r, 1)\n"
    )
    async with RemoteRun(host.link, [sys.executable, "-c", program], cwd=str(tmp_path),
                         env={}, what="adversarial") as run:
        deadline = time.monotonic() + 60
        async for line in run.lines(deadline):
            if line == "up":
                break
        pid = int(ready.read_text())
        assert run.remote_pid == pid  # the script's `exec` kept the pid it reported
        await run.kill()

    def dead() -> bool:
        try:
            Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()

    await async_wait_until(dead, timeout=30)
