"""Crash safety: a writer killed with SIGKILL at random points leaves only whole artifacts.

Each round forks a real writer process that stores artifacts in a loop (sync and async
writes alternating, each with a large answer so a write takes a while) and reports on a
pipe when each write starts. The parent waits for the N-th start (N random), then burns a
random number of loop iterations — a random offset into the write, chosen without any
sleep or timing guess — and kills the writer with SIGKILL. After every round each new
`.md` file must parse and hold exactly the answer its writer meant; at the end the index
left behind by the killed writers must still answer, and must rebuild from the files.

Fork (rather than spawning an interpreter) keeps 100 rounds well under the time budget:
the writer starts with laneboard already imported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from laneboard.artifacts import ArtifactRecord, ArtifactStore
from laneboard.artifacts.model import iter_artifact_paths, load_file

ROUNDS = 100
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def expected_answer(seed: int, i: int) -> str:
    """The answer writer `seed` stores as its `i`-th artifact (10-160 KB, checkable)."""
    r = random.Random(seed * 7919 + i)
    line = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
    return "\n".join(f"{n:05d} {line}" for n in range(r.randint(150, 2400))) + f"\nEND {seed}:{i}"


def writer(root: Path, report: int, seed: int) -> None:
    """The child: write artifacts forever, saying "s" on the pipe as each one starts."""
    store = ArtifactStore(root)
    started = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seed)
    i = 0
    while True:
        rec = ArtifactRecord(
            kind="turn",
            lane=f"lane{seed % 3}",
            prompt=f"prompt {seed}:{i}",
            answer=expected_answer(seed, i),
            started=started + dt.timedelta(milliseconds=i),
            extra={"seed": seed, "i": i},
        )
        os.write(report, b"s")
        if i % 2:
            asyncio.run(store.write(rec))
        else:
            store.write_sync(rec)
        i += 1


def run_and_kill(root: Path, seed: int, starts: int, spin: int) -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 0
        try:
            os.close(read_end)
            writer(root, write_end, seed)
        except BaseException as e:
            sys.stderr.write(f"writer {seed} failed: {e!r}\n")
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        seen = 0
        while seen < starts:
            chunk = os.read(read_end, 64)
            if not chunk:
                _, status = os.waitpid(pid, 0)
                pytest.fail(f"writer {seed} exited by itself (status {status})")
            seen += chunk.count(b"s")
        for _ in range(spin):  # a random offset into the current write, no sleeping
            pass
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        os.close(read_end)


def check_whole(path: Path) -> str:
    artifact = load_file(path)  # raises on a cut file
    assert artifact.complete, path
    seed, i = artifact.extra["seed"], artifact.extra["i"]
    assert artifact.answer == expected_answer(seed, i), path
    assert artifact.prompt == f"prompt {seed}:{i}"
    return artifact.id


def test_sigkill_at_random_points_leaves_no_partial_artifact(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    checked: dict[Path, str] = {}
    temps: set[str] = set()  # temp files of writers killed mid-write
    finished_before_kill = 0
    for seed in range(ROUNDS):
        starts = rng.randint(1, 3)
        run_and_kill(root, seed, starts=starts, spin=rng.randint(0, 300_000))
        # A writer reports a start only after its previous write returned.
        finished_before_kill += starts - 1
        for path in iter_artifact_paths(root):
            if path not in checked:
                checked[path] = check_whole(path)
        temps.update(p.name for p in root.glob("*/.*.tmp"))

    files = list(iter_artifact_paths(root))
    assert len(files) == len(checked) >= finished_before_kill
    ids = set(checked.values())
    assert len(ids) == len(files)

    # The index as the killed writers left it still opens and catches up with the files.
    store = ArtifactStore(root)
    assert {s.id for s in store.list(limit=None)} == ids
    # A full rebuild gives the same answer, and removes the dead writers' temp files.
    assert store.rebuild_index() == len(files)
    assert not list(root.glob("*/.*.tmp"))
    assert {s.id for s in store.list(limit=None)} == ids
    store.close()
    # The kills did land inside writes (between creating the temp file and the rename),
    # not only between them; otherwise this test would prove nothing.
    assert temps, "no writer was killed mid-write"
    print(f"{len(files)} artifacts; {len(temps)} of {ROUNDS} kills landed mid-write")
