"""The artifact store, its index and semantic search, on real files in a temp folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from laneboard.artifacts import (
    ArtifactIndex,
    ArtifactRecord,
    ArtifactStore,
    SemanticIndex,
    strip_ansi,
)
from laneboard.artifacts.model import parse
from laneboard.errors import ArtifactError
from laneboard.harnesses.base import TurnResult, Usage

# Assembled at run time so no whole token sits in the repository.
FAKE_KEY = "sk-" + "ant-api03-" + "Zq7" * 30
T0 = dt.datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ArtifactStore]:
    s = ArtifactStore(tmp_path / "artifacts")
    yield s
    s.close()


def record(**kw: object) -> ArtifactRecord:
    base: dict[str, object] = {
        "kind": "review",
        "lane": "review",
        "prompt": "Review the diff main...feature\n+def f(): pass\n",
        "answer": "1. [high] src/app.py:3 - f does nothing",
        "harness": "claude-code",
        "model": "anthropic/claude-opus-4-5",
        "started": T0,
        "finished": T0 + dt.timedelta(seconds=42.5),
    }
    base.update(kw)
    return ArtifactRecord(**base)  # type: ignore[arg-type]


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# ---------------------------------------------------------------------------- files


async def test_front_matter_round_trip(store: ArtifactStore) -> None:
    route = {
        "lane": "review",
        "rule": "review",
        "reason": "prefix",
        "fence": "plan",
        "escalates": True,
    }
    git = {"base": "main", "head": "feature", "tree_unchanged": True}
    rec = record(
        route=route,
        git=git,
        usage=Usage(input_tokens=10, output_tokens=20, cost_usd=0.5),
        extra={"findings": 1, "files": ["src/app.py"]},
        title="main...feature",
    )
    written = await store.write(rec)
    back = store.read(rec.id)
    assert back == written
    assert back.id == rec.id and back.kind == "review" and back.lane == "review"
    assert back.harness == "claude-code" and back.model == "anthropic/claude-opus-4-5"
    assert back.state == "done" and back.title == "main...feature"
    assert back.started == T0 and back.finished == T0 + dt.timedelta(seconds=42.5)
    assert back.route == route and back.git == git
    assert back.usage == {
        "input_tokens": 10,
        "output_tokens": 20,
        "cached_tokens": 0,
        "cost_usd": 0.5,
    }
    assert back.extra == {"findings": 1, "files": ["src/app.py"]}
    assert back.prompt == rec.prompt and back.answer == rec.answer
    assert back.prompt_sha256 == hashlib.sha256(rec.prompt.encode()).hexdigest()
    assert back.prompt_bytes == len(rec.prompt.encode())
    assert back.complete and back.meta["duration_s"] == 42.5
    # The front matter is plain YAML any tool can read, with ISO 8601 times.
    text = back.path.read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["started"] == "2025-03-04T05:06:07.890123+00:00"
    assert list(meta)[:4] == ["id", "kind", "lane", "harness"]


def test_file_name_and_layout(store: ArtifactStore) -> None:
    a = store.write_sync(record(title="Fix: the Race in lane/supervisor.py!"))
    assert a.path.parent == store.root / "2025-03-04"
    assert re.fullmatch(
        rf"050607-{a.id[:8]}-review-fix-the-race-in-lane-supervisor-py\.md", a.path.name
    )
    b = store.write_sync(record(kind="commit-message", prompt="", title=None))
    assert b.path.name == f"050607-{b.id[:8]}-commit-message.md"
    assert sorted(p.name for p in a.path.parent.iterdir()) == sorted([a.path.name, b.path.name])


def test_sync_and_async_write_the_same_bytes(store: ArtifactStore) -> None:
    import asyncio

    rec = record(id="ab" * 8)
    a = store.write_sync(rec)
    data = a.path.read_bytes()
    a.path.unlink()
    b = asyncio.run(store.write(rec))
    assert b.path == a.path and b.path.read_bytes() == data


def test_from_turn_result(store: ArtifactStore) -> None:
    turn = TurnResult(
        reply="\x1b[1mLGTM\x1b[0m",
        state="timed-out",
        usage=Usage(input_tokens=3),
        error=f"gave up; key was {FAKE_KEY}",
        model="claude-opus-4-5",
        started=T0.timestamp(),
        finished=T0.timestamp() + 1,
        extra={"pane": "%3"},
    )
    rec = ArtifactRecord.from_turn(
        turn, kind="turn", lane="review", prompt="hi", harness="claude-code"
    )
    a = store.write_sync(rec)
    assert a.state == "timed-out" and a.answer == "LGTM" and a.model == "claude-opus-4-5"
    assert a.usage is not None and a.usage["input_tokens"] == 3
    assert a.error is not None and FAKE_KEY not in a.error and "[REDACTED:anthropic:" in a.error
    assert a.extra == {"pane": "%3"} and a.started == T0


def test_record_validation() -> None:
    with pytest.raises(ArtifactError, match="kind"):
        record(kind="essay")
    with pytest.raises(ArtifactError, match="state"):
        record(state="exploded")
    with pytest.raises(ArtifactError, match="id"):
        record(id="../../etc/passwd")


def test_permissions_even_with_a_lax_umask(tmp_path: Path) -> None:
    root = tmp_path / "arts"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    old = os.umask(0)
    try:
        s = ArtifactStore(root)
        a = s.write_sync(record())
        s.close()
    finally:
        os.umask(old)
    assert mode(a.path) == 0o600
    assert mode(a.path.parent) == 0o700
    assert mode(root) == 0o700
    assert mode(root / ".index.sqlite") == 0o600


async def test_async_write_permissions_and_no_temp_left(store: ArtifactStore) -> None:
    a = await store.write(record())
    assert mode(a.path) == 0o600 and mode(a.path.parent) == 0o700
    assert [p.name for p in a.path.parent.iterdir()] == [a.path.name]


def test_ansi_is_stripped(store: ArtifactStore) -> None:
    raw = (
        "\x1b]0;claude\x07\x1b[1;32m✓ Done\x1b[0m\r\n"
        "progress 10%\rprogress 100%\n"
        "\x1b[2K\x1b[1Gline\x08\x08ne two\x1b(B\n"
        "\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ end"
    )
    a = store.write_sync(record(answer=raw))
    assert a.answer == "✓ Done\nprogress 100%\nline two\nlink end"
    assert "\x1b" not in a.path.read_text()


def test_strip_ansi_leaves_plain_text_alone() -> None:
    text = "def f():\n\treturn [1, 2]  # ok ✓\n"
    assert strip_ansi(text) == text


def test_secrets_are_redacted_everywhere_and_counted(store: ArtifactStore) -> None:
    a = store.write_sync(
        record(
            prompt=f"diff:\n+ANTHROPIC_API_KEY={FAKE_KEY}\n",
            answer=f"Never commit {FAKE_KEY}.\nAuthorization: Bearer abcdefgh12345678",
            title=f"about {FAKE_KEY}",
            route={"reason": f"matched {FAKE_KEY}"},
            extra={"note": FAKE_KEY},
        )
    )
    assert a.redactions == 6
    assert a.meta["redaction_kinds"] == {"anthropic": 5, "bearer": 1}
    assert "[REDACTED:anthropic:" in a.prompt and "[REDACTED:bearer:" in a.answer
    store.list()  # make sure the index holds this artifact too
    for path in store.root.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    # The digest describes the prompt as it may be sent: already redacted.
    assert a.prompt_sha256 == hashlib.sha256(a.prompt.encode()).hexdigest()


def test_prompt_is_bounded_and_says_what_was_cut(tmp_path: Path) -> None:
    s = ArtifactStore(tmp_path / "a", max_prompt_bytes=20 * 1024)
    lines = [f"+line {i:05d} " + "x" * 60 for i in range(2000)]
    prompt = "\n".join(lines) + "\n"
    a = s.write_sync(record(prompt=prompt))
    assert a.meta["prompt_truncated"] is True
    assert a.prompt_bytes == len(prompt.encode())
    assert a.prompt_sha256 == hashlib.sha256(prompt.encode()).hexdigest()
    assert len(a.prompt.encode()) < 21 * 1024
    assert a.prompt.startswith(lines[0]) and a.prompt.endswith(lines[-1] + "\n")
    assert re.search(r"prompt cut: [\d,]+ of [\d,]+ bytes omitted", a.prompt)
    assert all(line in lines for line in a.prompt.splitlines() if line.startswith("+line"))
    assert a.path.stat().st_size < 25 * 1024
    s.close()


def test_answer_is_bounded_too(tmp_path: Path) -> None:
    s = ArtifactStore(tmp_path / "a", max_answer_bytes=1000)
    a = s.write_sync(record(answer="é" * 5000))
    assert a.meta["answer_truncated"] is True and a.meta["answer_bytes"] == 10000
    assert "answer cut" in a.answer and a.complete
    s.close()


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "\n",
        "no newline",
        "```py\nx = 1\n```\n",
        "````\n`````\n",
        "## Answer\n\n---\n",
        "a\n\n\n",
    ],
)
def test_body_round_trips_exactly(store: ArtifactStore, prompt: str) -> None:
    answer = "## Prompt\n\n````text\nnot really\n````\n\n---\nend\n"
    a = store.write_sync(record(prompt=prompt, answer=answer))
    back = parse(a.path.read_text(), a.path)
    assert back.prompt == prompt and back.answer == answer


def test_incomplete_files_are_refused_or_flagged(store: ArtifactStore) -> None:
    a = store.write_sync(record())
    text = a.path.read_text()
    for cut in (10, len(text) // 2, text.index("## Answer")):
        with pytest.raises(ArtifactError):
            parse(text[:cut], a.path)
    edited = parse(text.replace("does nothing", "does little"), a.path)
    assert not edited.complete


# ---------------------------------------------------------------------------- lookup


def test_get_by_prefix_path_and_errors(store: ArtifactStore) -> None:
    a = store.write_sync(record(id="abcd0000" + "11" * 4))
    b = store.write_sync(record(id="abcd1111" + "22" * 4))
    assert store.get("abcd0").id == a.id
    assert store.get(b.id.upper()).id == b.id
    assert store.get(str(a.path)).id == a.id
    assert store.read(a.id).id == a.id
    with pytest.raises(ArtifactError, match="matches 2 artifacts"):
        store.get("abcd")
    with pytest.raises(ArtifactError, match="No artifact"):
        store.get("ffff")
    with pytest.raises(ArtifactError, match="No artifact"):
        store.read("abcd0000")
    with pytest.raises(ArtifactError, match="not an artifact id"):
        store.get("../x")


def test_iter_all_skips_temp_and_broken_files(store: ArtifactStore) -> None:
    a = store.write_sync(record())
    (a.path.parent / f".{a.path.name}.99999999.abcd.tmp").write_text("---\nid: partial")
    (a.path.parent / "000000-deadbeef-turn-broken.md").write_text("not an artifact")
    assert [x.id for x in store.iter_all()] == [a.id]
    assert [x.id for x in store.list()] == [a.id]


def test_cleanup_temp_removes_only_dead_writers(store: ArtifactStore) -> None:
    a = store.write_sync(record())
    dead = a.path.parent / ".x.md.99999999.abcd.tmp"
    live = a.path.parent / f".y.md.{os.getpid()}.abcd.tmp"
    dead.write_text("")
    live.write_text("")
    assert store.cleanup_temp() == 1
    assert not dead.exists() and live.exists()


# ---------------------------------------------------------------------------- index


def _write_many(store: ArtifactStore) -> list[str]:
    specs = [
        ("review", "review", "race condition in the supervisor lock"),
        ("turn", "main", "implement the router glob rules"),
        ("triage", "triage", "ESCALATE: phishing mail with a link"),
        ("commit-message", "coder", "feat(router): glob rules"),
        ("review", "review", "database migration drops a column"),
    ]
    ids = []
    for i, (kind, lane, answer) in enumerate(specs):
        a = store.write_sync(
            record(kind=kind, lane=lane, answer=answer, started=T0 + dt.timedelta(minutes=i))
        )
        ids.append(a.id)
    return ids


def test_list_newest_first_with_filters(store: ArtifactStore) -> None:
    ids = _write_many(store)
    assert [s.id for s in store.list()] == ids[::-1]
    assert [s.id for s in store.list(lane="review")] == [ids[4], ids[0]]
    assert [s.id for s in store.list(kind="triage")] == [ids[2]]
    assert [s.id for s in store.list(limit=2)] == [ids[4], ids[3]]
    s = store.list(kind="commit-message")[0]
    assert s.lane == "coder" and s.path.is_file() and s.started == T0 + dt.timedelta(minutes=3)
    assert s.as_dict()["path"] == str(s.path)


def test_list_on_an_empty_store(tmp_path: Path) -> None:
    s = ArtifactStore(tmp_path / "never-written")
    assert s.list() == [] and s.search("x") == []
    assert not (tmp_path / "never-written").exists()


@pytest.mark.parametrize("fts", [True, False], ids=["fts5", "like"])
def test_search(store: ArtifactStore, fts: bool) -> None:
    ids = _write_many(store)
    index = ArtifactIndex(store.root, path=store.root / f".test-{fts}.sqlite", fts=fts)
    hits = index.search("glob rules")
    assert {h.artifact.id for h in hits} == {ids[1], ids[3]}
    assert all("glob" in h.snippet.lower() for h in hits)
    assert [h.artifact.id for h in index.search("race", lane="review")] == [ids[0]]
    assert index.search("glob", kind="turn")[0].artifact.id == ids[1]
    assert index.search("nothing-like-this") == []
    assert index.search("   ") == []
    for weird in ['"', "a AND", "NEAR(", "*", "col:x", "100%", "_", "'); DROP TABLE artifacts;--"]:
        index.search(weird)  # taken literally: no syntax errors
    index.close()


def test_index_heals_from_the_files(store: ArtifactStore) -> None:
    ids = _write_many(store)
    store.close()
    db = store.root / ".index.sqlite"
    db.unlink()
    assert [s.id for s in store.list()] == ids[::-1]  # missing -> rebuilt

    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    assert len(store.list()) == 5  # corrupt -> rebuilt

    gone = store.read(ids[0]).path
    gone.unlink()  # deleted by hand
    assert ids[0] not in {s.id for s in store.list()}

    # A file the index never saw (a writer that crashed after its rename).
    other = ArtifactStore(store.root, index=False)
    late = other.write_sync(record(answer="late arrival"))
    assert store.search("arrival")[0].artifact.id == late.id
    assert store.rebuild_index() == 5


def test_list_falls_back_to_the_files_without_an_index(store: ArtifactStore) -> None:
    ids = _write_many(store)
    store.close()
    store._index = ArtifactIndex(store.root, path=store.root / "no-such-dir" / "x.sqlite")
    assert [s.id for s in store.list()] == ids[::-1]
    assert [s.id for s in store.list(lane="review", limit=1)] == [ids[4]]


def test_index_schema_mismatch_is_rebuilt(store: ArtifactStore) -> None:
    _write_many(store)
    store.close()
    with sqlite3.connect(store.root / ".index.sqlite") as c:
        c.execute("PRAGMA user_version=9999")
    c.close()
    assert len(store.list()) == 5


# ---------------------------------------------------------------------------- semantic


class BagOfWords:
    """A deterministic stand-in embedding: hashed word counts in `dim` buckets."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            v = [0.0] * self.dim
            for w in re.findall(r"[a-z]+", t.lower()):
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
            out.append(v)
        return out

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


async def test_semantic_search(store: ArtifactStore) -> None:
    ids = _write_many(store)
    embed = BagOfWords()
    sem = SemanticIndex(store.index, embed, "stand-in/bow-64", batch_size=2)
    assert await sem.sync() == 5
    assert embed.embedded == 5 and max(len(c) for c in embed.calls) == 2
    hits = await sem.search("which migration drops a database column?")
    assert hits[0].artifact.id == ids[4]
    assert hits[0].score > hits[-1].score and -1.0 <= hits[-1].score <= 1.0 + 1e-9
    assert [h.artifact.id for h in await sem.search("glob", kind="turn")] == [ids[1]]
    assert await sem.sync() == 0  # nothing new: nothing re-embedded
    store.write_sync(record(answer="a new one"))
    assert await sem.sync() == 1


async def test_semantic_reindexes_when_the_model_changes(store: ArtifactStore) -> None:
    _write_many(store)
    first = BagOfWords(64)
    assert await SemanticIndex(store.index, first, "ollama/embed-a").sync() == 5
    second = BagOfWords(64)
    sem2 = SemanticIndex(store.index, second, "ollama/embed-b")
    assert await sem2.sync() == 5  # every artifact re-embedded by the new model
    assert sem2.stored_model() == "ollama/embed-b"
    with store.index.connection() as conn:
        models = {r[0] for r in conn.execute("SELECT model FROM vectors")}
    assert models == {"ollama/embed-b"}
    assert len(await sem2.search("race condition")) == 5

    # Same name, new vector size (the model was replaced under its name): re-index too.
    resized = BagOfWords(32)
    sem3 = SemanticIndex(store.index, resized, "ollama/embed-b")
    hits = await sem3.search("race condition lock")
    assert resized.embedded >= 5 + 1 and len(hits) == 5
    with store.index.connection() as conn:
        dims = {r[0] for r in conn.execute("SELECT dim FROM vectors")}
    assert dims == {32}


async def test_semantic_rejects_a_broken_embedder(store: ArtifactStore) -> None:
    _write_many(store)

    async def short(texts: list[str]) -> list[list[float]]:
        return [[1.0]]

    async def nan(texts: list[str]) -> list[list[float]]:
        return [[math.nan, 1.0] for _ in texts]

    with pytest.raises(ArtifactError, match="returned 1 vectors for"):
        await SemanticIndex(store.index, short, "m", batch_size=3).sync()
    with pytest.raises(ArtifactError, match="non-finite"):
        await SemanticIndex(store.index, nan, "m").sync()
