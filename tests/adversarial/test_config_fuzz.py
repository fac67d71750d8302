"""Promise under attack: every config input either loads or is a clean config error.

Hypothesis mutates the shipped config.yaml (deleting spans, inserting hostile snippets —
anchors, aliases, merge keys, brackets, surrogate escapes, control characters, index-like
keys, document markers, stray bytes), generates random YAML and JSON5 structures, and
mutates those too. Every input is written to a real file and loaded by the same loaders
every entry point uses; the result must be a loaded config or a ConfigError whose first
line names the file — never another exception, a RecursionError or a hang. A fixed
sample also goes through the real CLI (`laneboard config check`, `preflight --openclaw`),
which must exit 0 or 2 with a first line `laneboard: FILE...` and no traceback.

To extend: add snippets to HOSTILE.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneboard.config import shipped_config_bytes
from laneboard.errors import ConfigError
from laneboard.lanes.loading import load_file
from laneboard.lanes.preflight.openclaw import load_openclaw

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = shipped_config_bytes().decode("utf-8")
OPENCLAW_BASE = json.dumps(
    {
        "agents": {
            "defaults": {"model": {"primary": "anthropic/claude-sonnet-4-5", "fallbacks": []}},
            "list": [{"id": "main"}, {"id": "coder", "model": "openai/gpt-5"}],
        },
        "models": {"providers": {"ollama": {"baseUrl": "http://127.0.0.1:11434"}}},
    },
    indent=2,
)
HOSTILE = [
    "&a ",
    "*a",
    "<<: *a\n",
    "&b [*b]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
    '"\\ud800"',
    '"\\udc00\\ud83d"',
    '"[0]": ',
    "[0]: ",
    '"": ',
    "\x00",
    "\x1b[2J",
    "\t",
    "\n---\n",
    "...\n",
    "? ",
    ": ",
    "- ",
    "!!python/object:os.system ",
    "!!binary AAAA",
    "2001-13-45 99:99:99",
    "1e999999",
    "9" * 5000,
    "/*",
    "//",
    "'",
    '"',
    "\\",
    "regex: '(a+)+$'",
    "regex: '(?=x)'",
    "\ufeff",
]
COUNTS: dict[str, int] = {"inputs": 0, "loaded": 0, "clean_errors": 0}


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="lb-fuzz-") as d:
        yield Path(d)
    # Read with `pytest -s`: the numbers the issue asks for.
    print(f"\nconfig fuzz: {COUNTS}")


def check_one(path: Path, data: bytes, loader: Any) -> None:
    """Load `data` from a real file: a config or a ConfigError naming the file, nothing else."""
    path.write_bytes(data)
    COUNTS["inputs"] += 1
    try:
        loader(str(path))
    except ConfigError as e:
        first = str(e).splitlines()[0]
        assert first.startswith(str(path)), first
        assert all(p.location.file == str(path) for p in e.problems)
        COUNTS["clean_errors"] += 1
    else:
        COUNTS["loaded"] += 1


@st.composite
def mutated(draw: st.DrawFn, base: str) -> bytes:
    text = base
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "bytes", "duplicate"]))
        if op == "insert":
            piece = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)))
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 200)) :]
        elif op == "replace":
            text = text[:at] + draw(st.sampled_from(HOSTILE)) + text[at + 1 :]
        elif op == "duplicate":
            end = text.find("\n", at)
            text = text[:at] + text[at:end] + text[at:]
        else:
            raw = text.encode("utf-8")
            k = min(at, len(raw))
            return raw[:k] + draw(st.binary(min_size=1, max_size=4)) + raw[k:]
    return text.encode("utf-8")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=10),
    st.sampled_from(["[0]", "", "lanes", "version", "\ud800", "&x", "*x"]),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=6), st.sampled_from(["[0]", "list"])), inner, max_size=4
        ),
    ),
    max_leaves=40,
)


@SETTINGS
@given(data=mutated(BASE))
def test_mutated_shipped_config_loads_or_fails_cleanly(workdir: Path, data: bytes) -> None:
    check_one(workdir / "config.yaml", data, load_file)


@SETTINGS
@given(doc=structures, version=st.booleans())
def test_random_yaml_structures_load_or_fail_cleanly(
    workdir: Path, doc: Any, version: bool
) -> None:
    if version:
        doc = {"version": 1, "lanes": doc}
    text = yaml.safe_dump(doc, allow_unicode=False)
    check_one(workdir / "random.yaml", text.encode("utf-8"), load_file)


@SETTINGS
@given(data=mutated(OPENCLAW_BASE))
def test_mutated_openclaw_json_loads_or_fails_cleanly(workdir: Path, data: bytes) -> None:
    check_one(workdir / "openclaw.json", data, load_openclaw)


@SETTINGS
@given(doc=structures)
def test_random_json5_structures_load_or_fail_cleanly(workdir: Path, doc: Any) -> None:
    text = json.dumps({"agents": doc}, ensure_ascii=True)
    check_one(workdir / "random.json", text.encode("utf-8"), load_openclaw)


def cli_sample(seed: int, base: str) -> bytes:
    """A deterministic mutation (the CLI sample must be the same on every run)."""
    r = random.Random(seed)
    text = base
    for _ in range(r.randint(1, 3)):
        at = r.randrange(len(text) + 1)
        text = text[:at] + r.choice(HOSTILE) + text[at + r.randint(0, 3) :]
    return text.encode("utf-8")


@pytest.mark.parametrize("seed", range(8))
def test_the_real_cli_exits_0_or_2_with_a_one_line_head(tmp_path: Path, seed: int) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LANEBOARD_CONFIG", None)
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes(cli_sample(seed, BASE))
    oc = tmp_path / "openclaw.json"
    oc.write_bytes(cli_sample(seed, OPENCLAW_BASE))
    for args, file in (
        (["config", "check", str(cfg)], cfg),
        (["preflight", "--openclaw", str(oc), "--json"], oc),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "laneboard", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        if args[0] == "config":
            assert r.returncode in (0, 2), (r.returncode, r.stderr)
            if r.returncode == 2:
                assert r.stderr.splitlines()[0].startswith(f"laneboard: {file}"), r.stderr
        else:
            # preflight reports a load failure as a check; exit 2 and the file named.
            assert r.returncode in (0, 1, 2), (r.returncode, r.stdout, r.stderr)
            json.loads(r.stdout)
