"""Promise under attack: another local user cannot run code as you through laneboard's files.

laneboard keeps lane launchers (they export API keys, and tmux runs them), prompt files and
status files in a per-socket directory, once a predictable `/tmp/laneboard-<uid>/…`. A
second, unprivileged user — created here with `useradd`, acting through `runuser` —
pre-creates that directory (0777, 0700 of theirs, a symlink), or widens ours, and runs a
swapper that replaces any launcher it sees with one that touches a canary. laneboard,
run through its real CLI as us, must refuse with exit 2 and a message naming the path,
and the canary must never appear. The positive cases check where the files do go
(`$XDG_RUNTIME_DIR` when private) and that every directory is 0700 and every file 0600.

To extend: add a planting recipe to PLANTS (shell run as the intruder, `$D` is the path
laneboard will want) with the words the refusal must contain.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.tmux

#: What the intruder runs for the whole laneboard call: replace every launcher it can reach.
SWAPPER = r"""
while :; do
  for f in "$D"/*/lanes/*/*.launch.sh "$D"/lanes/*/*.launch.sh; do
    [ -e "$f" ] && rm -f "$f" 2>/dev/null && printf 'touch %s\n' "$CANARY" > "$f"
  done
  sleep 0.01
done
"""

PLANTS = {
    "world-writable dir of theirs": ('mkdir -m 0777 "$D"', ["owned by", "lbintruder"]),
    "private dir of theirs": ('mkdir -m 0700 "$D"', ["owned by", "lbintruder"]),
    "symlink to their dir": ('mkdir -m 0777 "$D.x" && ln -s "$D.x" "$D"', ["symlink"]),
}


@pytest.fixture(scope="module")
def intruder() -> Iterator[str]:
    """A real second user with no privileges."""
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.fail("these tests create a second user: run them as root with useradd/runuser")
    name = f"lbintruder{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A fresh `/tmp`-like directory (1777, root's) both users can reach."""
    d = Path(tempfile.mkdtemp(prefix="lb-shared-", dir="/tmp"))
    d.chmod(0o1777)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_intruder(user: str, script: str, env: dict[str, str]) -> None:
    subprocess.run(
        ["runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in env.items()), "/bin/sh",
         "-c", script],
        check=True, cwd="/",
    )  # fmt: skip


@pytest.fixture
def setup(tmux_socket: str, tmp_path: Path, shared_tmp: Path) -> dict[str, object]:
    (tmp_path / "home").mkdir()
    (tmp_path / "lane.py").write_text(
        "import sys\nprint('READY', flush=True)\nfor line in sys.stdin:\n"
        "    print('took', line.strip(), flush=True)\n    print('READY', flush=True)\n"
    )
    config = tmp_path / "laneboard.yaml"
    config.write_text(
        f"""\
version: 1
lanes:
  worker:
    role: helper
    harness: command
    command: [{sys.executable}, -u, {tmp_path / "lane.py"}]
    ready: "READY"
    fence: full  # the sandbox is not under test here
"""
    )
    env = {
        **os.environ,
        "TMPDIR": str(shared_tmp),
        "LANEBOARD_TMUX_SOCKET": tmux_socket,
        "LANEBOARD_STATE_DIR": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    env.pop("XDG_RUNTIME_DIR", None)
    env.pop("LANEBOARD_CONFIG", None)
    return {"env": env, "config": config, "cwd": tmp_path}


def laneboard(setup: dict[str, object], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard", *args, "--config", str(setup["config"])],
        capture_output=True, text=True, env=setup["env"],  # type: ignore[arg-type]
        cwd=setup["cwd"], timeout=90,  # type: ignore[arg-type]
    )  # fmt: skip


def lane_windows(socket: str) -> str:
    done = subprocess.run(
        ["tmux", "-L", socket, "list-panes", "-a", "-F", "#{@laneboard_lane}"],
        capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def assert_refused(done: subprocess.CompletedProcess[str], path: Path, words: list[str]) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert f"refusing to use {path}" in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, (word, done.stderr)


@pytest.mark.parametrize("plant", list(PLANTS))
def test_a_planted_runtime_dir_is_refused_and_nothing_planted_runs(
    plant: str, intruder: str, shared_tmp: Path, setup: dict[str, object], tmux_socket: str
) -> None:
    target = shared_tmp / f"laneboard-{os.getuid()}"
    canary = shared_tmp / "CANARY"
    recipe, words = PLANTS[plant]
    as_intruder(intruder, recipe, {"D": str(target)})
    swapper = subprocess.Popen(
        ["runuser", "-u", intruder, "--", "env", f"D={target}", f"CANARY={canary}",
         "/bin/sh", "-c", SWAPPER],
        cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        done = laneboard(setup, "send", "worker", "hello", "--wait", "--json")
    finally:
        # The whole group: killing runuser alone left its shell looping (18 of them, each
        # burning CPU, after a few runs).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(swapper.pid, signal.SIGKILL)
        swapper.wait()
    assert_refused(done, target, words)
    assert not canary.exists(), "a planted launcher ran as us"
    assert lane_windows(tmux_socket) == ""  # no lane was started


def test_our_dir_made_world_writable_is_refused(
    intruder: str, shared_tmp: Path, setup: dict[str, object]
) -> None:
    target = shared_tmp / f"laneboard-{os.getuid()}"
    target.mkdir(mode=0o700)
    target.chmod(0o777)  # e.g. a careless chmod: anything may be in it now
    as_intruder(intruder, 'mkdir -p "$D/planted"', {"D": str(target)})
    done = laneboard(setup, "send", "worker", "hello", "--wait", "--json")
    assert_refused(done, target, ["others can write", "0777"])


def test_a_state_dir_of_another_user_is_refused(
    intruder: str, shared_tmp: Path, setup: dict[str, object]
) -> None:
    state = shared_tmp / "state"
    as_intruder(intruder, 'mkdir -m 0777 "$D"', {"D": str(state)})
    setup["env"]["LANEBOARD_STATE_DIR"] = str(state)  # type: ignore[index]
    done = laneboard(setup, "lanes", "status", "--json")
    assert_refused(done, state, ["owned by", intruder])


def modes(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath, name)
            out[str(p.relative_to(root))] = f"{stat.S_IMODE(p.lstat().st_mode):04o}"
    return out


def test_fresh_and_old_dirs_end_up_private(
    shared_tmp: Path, setup: dict[str, object], tmux_socket: str
) -> None:
    """An old laneboard left `laneboard-<uid>` 0755: it is ours, nobody could write to
    it, so it is tightened, not refused. Every directory is 0700, every file 0600 —
    the lane's status file, the state file and the lock files too."""
    target = shared_tmp / f"laneboard-{os.getuid()}"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    done = laneboard(setup, "send", "worker", "hello", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    stopped = laneboard(setup, "lanes", "stop", "worker")
    assert stopped.returncode == 0, stopped.stderr
    found = modes(target) | {
        f"state/{k}": v for k, v in modes(Path(str(setup["cwd"])) / "state").items()
    }
    assert f"{stat.S_IMODE(target.stat().st_mode):04o}" == "0700"
    assert any(k.startswith("state/") and k.endswith(".lock") for k in found), found
    assert any(k.startswith("state/") and k.endswith(".json") for k in found), found
    for path, mode in found.items():
        is_dir = (target / path).is_dir() or (Path(str(setup["cwd"])) / path).is_dir()
        assert mode == ("0700" if is_dir else "0600"), (path, mode, found)


def test_private_xdg_runtime_dir_is_used(
    shared_tmp: Path, setup: dict[str, object], tmux_socket: str, tmp_path: Path
) -> None:
    xdg = tmp_path / "run-user"
    xdg.mkdir(mode=0o700)
    setup["env"]["XDG_RUNTIME_DIR"] = str(xdg)  # type: ignore[index]
    done = laneboard(setup, "send", "worker", "hello", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert (xdg / "laneboard" / tmux_socket / "lanes").is_dir()
    assert stat.S_IMODE((xdg / "laneboard").stat().st_mode) == 0o700
    assert list(shared_tmp.iterdir()) == []  # nothing in the shared /tmp


def test_xdg_runtime_dir_of_another_user_is_not_used(
    intruder: str, shared_tmp: Path, setup: dict[str, object], tmux_socket: str
) -> None:
    xdg = shared_tmp / "their-run"
    as_intruder(intruder, 'mkdir -m 0700 "$D"', {"D": str(xdg)})
    setup["env"]["XDG_RUNTIME_DIR"] = str(xdg)  # type: ignore[index]
    done = laneboard(setup, "send", "worker", "hello", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    ours = shared_tmp / f"laneboard-{os.getuid()}"
    assert (ours / tmux_socket / "lanes").is_dir()
    assert stat.S_IMODE(ours.stat().st_mode) == 0o700


def test_a_socket_path_an_intruder_serves_is_refused(
    intruder: str, shared_tmp: Path, setup: dict[str, object]
) -> None:
    """`tmux.socket` as a path (`-S`) in a shared folder: the intruder starts a tmux server
    there first, so our prompts would go to their server. laneboard refuses the socket."""
    sock = shared_tmp / "lb.sock"
    subprocess.run(
        ["runuser", "-u", intruder, "--", "tmux", "-S", str(sock), "-f", "/dev/null",
         "new-session", "-d", "-s", "trap", "sleep 600"],
        check=True, cwd="/", env={"PATH": os.environ["PATH"], "TMPDIR": str(shared_tmp)},
    )  # fmt: skip
    try:
        env = {**setup["env"], "LANEBOARD_TMUX_SOCKET": str(sock)}  # type: ignore[dict-item]
        done = subprocess.run(
            [sys.executable, "-m", "laneboard", "send", "worker", "hello", "--wait",
             "--config", str(setup["config"])],
            capture_output=True, text=True, env=env, cwd=setup["cwd"], timeout=90,  # type: ignore[arg-type]
        )  # fmt: skip
        assert_refused(done, sock, ["owned by"])
        windows = subprocess.run(
            ["runuser", "-u", intruder, "--", "tmux", "-S", str(sock), "list-windows", "-a"],
            capture_output=True, text=True, cwd="/", check=False,
        ).stdout  # fmt: skip
        assert "worker" not in windows  # nothing of ours reached their server
    finally:
        subprocess.run(["runuser", "-u", intruder, "--", "tmux", "-S", str(sock), "kill-server"],
                       capture_output=True, cwd="/", check=False)


@pytest.mark.parametrize("socket", ["..", ".", "/run/x/lb.sock", "../../etc", "a/../../b", ""])
def test_a_socket_name_never_leaves_the_state_dir(socket: str, tmp_path: Path) -> None:
    """Per-socket folders are `state / tag`: a socket path or `..` must not become
    another place on disk (pathlib drops the left side of `/ "/abs"`)."""
    from laneboard.harnesses.private_fs import socket_tag

    tag = socket_tag(socket)
    assert "/" not in tag and not tag.startswith(".") and tag
    assert (tmp_path / tag).resolve().parent == tmp_path.resolve()
