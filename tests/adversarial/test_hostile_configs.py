"""Promise under attack: no config file or routing pattern can hang, exhaust or crash laneboard.

Every config-reading entry point (config check, preflight, preflight --openclaw, route, the
cockpit's load) goes through one guarded reader and two guarded parsers. These tests feed
them what an attacker or an accident would: FIFOs nobody writes, /dev/zero, directories,
oversized files, a 442-byte YAML alias bomb, merge-key bombs, self-referencing anchors,
brackets nested hundreds deep (YAML and JSON5), lone surrogate escapes, keys that look like
list indexes, control characters, and routing regexes that backtrack exponentially in
Python's `re`. Each must end in a ConfigError naming the file (and line:column where there
is one) and exit 2 from the real CLI — never a hang, a traceback or an exhausted machine.

Anything that could hang if the guard regressed (a FIFO, /dev/zero, a catastrophic regex)
is only ever run in a real CLI subprocess with a timeout, so a regression fails the test
instead of hanging the suite. To extend: add a file body to HOSTILE_YAML/HOSTILE_JSON5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import re2

from laneboard.config import load_config
from laneboard.configfile import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_NODES
from laneboard.errors import ConfigError
from laneboard.lanes.preflight.openclaw import load_openclaw
from laneboard.lanes.router import _ASCII_LOOKALIKES, Router

#: A subprocess that should answer at once gets this long before the test calls it hung.
HANG = 120

MINIMAL = """\
version: 1
models:
  p/m: {tier: orchestrator}
lanes:
  main: {role: orchestrator, harness: codex, model: p/m}
"""


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess; a hang is a failure, not a stuck suite."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LANEBOARD_CONFIG", None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "laneboard", *args],
            capture_output=True,
            text=True,
            timeout=HANG,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"laneboard {' '.join(args)} hung for {HANG}s")


def assert_clean_exit2(r: subprocess.CompletedProcess[str], file: str, *needles: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"laneboard: {file}"), r.stderr
    for needle in needles:
        assert needle in r.stderr, (needle, r.stderr)
    return first


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert all(p.location.file == str(path) for p in err.problems), str(err)
    return err


# ---------------------------------------------------------------- what the path names


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    r = cli("config", "check", str(fifo))
    assert_clean_exit2(r, str(fifo), "is a FIFO (named pipe), not a regular file")
    r = cli("preflight", "--openclaw", str(fifo), "--json")
    assert r.returncode == 2 and "FIFO" in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr


def test_a_fifo_through_the_environment_is_refused_for_route(tmp_path: Path) -> None:
    fifo = tmp_path / "laneboard.yaml"
    os.mkfifo(fifo)
    # ./laneboard.yaml is found by discovery only when it is a file; --config names it.
    r = cli("route", "hello", "--config", str(fifo))
    assert_clean_exit2(r, str(fifo), "FIFO")


def test_dev_zero_is_refused_not_read() -> None:
    r = cli("config", "check", "/dev/zero")
    assert_clean_exit2(r, "/dev/zero", "is a character device, not a regular file")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    err = config_error(tmp_path)
    assert "is a directory, not a regular file" in str(err)
    with pytest.raises(ConfigError, match="is a directory"):
        load_openclaw(tmp_path)


def test_a_symlink_to_a_regular_file_still_loads(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(MINIMAL)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    assert load_config(link).config.lanes["main"].model == "p/m"


def test_size_cap_refuses_one_byte_over_and_takes_exactly_the_cap(tmp_path: Path) -> None:
    at_cap = tmp_path / "at.yaml"
    padding = MAX_CONFIG_BYTES - len(MINIMAL) - 2
    at_cap.write_text(MINIMAL + "#" + "x" * padding + "\n")
    assert at_cap.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(at_cap).config.version == 1
    over = tmp_path / "over.yaml"
    over.write_text(MINIMAL + "#" + "x" * (padding + 1) + "\n")
    err = config_error(over)
    assert f"larger than the {MAX_CONFIG_BYTES // 1024} KiB" in str(err)
    r = cli("config", "check", str(over))
    assert_clean_exit2(r, str(over), "KiB")
    big_json = tmp_path / "openclaw.json"
    big_json.write_text("{}" + " " * MAX_CONFIG_BYTES)
    with pytest.raises(ConfigError, match="KiB"):
        load_openclaw(big_json)


def test_missing_and_unreadable_files_name_the_file(tmp_path: Path) -> None:
    assert "no such file" in str(config_error(tmp_path / "absent.yaml"))
    locked = tmp_path / "locked.yaml"
    locked.write_text(MINIMAL)
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything; the message is still tested for others
        assert "permission denied" in str(config_error(locked))


# ---------------------------------------------------------------- YAML that expands


def alias_bomb(levels: int = 9) -> str:
    lines = ["version: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text) < 450  # expands to 9**9 ≈ 387 million strings
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    err = config_error(path)
    assert f"expands to more than {MAX_NODES} values" in str(err)
    assert err.first.location.line is not None and err.first.location.line <= 9
    assert_clean_exit2(cli("config", "check", str(path)), str(path), "alias")


def test_a_merge_key_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["version: 1", "m0: &m0 {a: 1, b: 2}"]
    for i in range(1, 40):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}")
    path = tmp_path / "merge.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "expands to more than" in str(config_error(path))


def test_aliases_that_stay_small_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        MINIMAL + "  coder: &lane {role: coder, harness: codex, model: p/m, fence: plan}\n"
        "  coder2: *lane\n"
    )
    cfg = load_config(path).config
    assert cfg.lanes["coder2"].fence == "plan"


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        ("x: &x [*x]\n", 2, 8),
        ("x: &x {a: {b: *x}}\n", 2, 15),
        ("x: &x\n  - 1\n  - *x\n", 4, 5),
    ],
)
def test_a_self_referencing_anchor_is_refused_where_the_alias_is(
    tmp_path: Path, body: str, line: int, column: int
) -> None:
    path = tmp_path / "self.yaml"
    path.write_text("version: 1\n" + body)
    err = config_error(path)
    assert "refers to a node that contains it" in str(err)
    assert (err.first.location.line, err.first.location.column) == (line, column)


@pytest.mark.parametrize("style", ["flow-list", "flow-map", "block"])
def test_deep_yaml_nesting_is_refused_at_the_level_that_crosses_the_cap(
    tmp_path: Path, style: str
) -> None:
    n = 300
    if style == "flow-list":
        body = "x: " + "[" * n + "]" * n + "\n"
    elif style == "flow-map":
        body = "x: " + "{a: " * n + "1" + "}" * n + "\n"
    else:
        body = "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "v\n"
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\n" + body)
    err = config_error(path)
    assert f"nested more than {MAX_DEPTH} levels deep" in str(err)
    assert err.first.location.line is not None
    assert_clean_exit2(cli("config", "check", str(path)), str(path), "nested")


def test_nesting_at_the_cap_is_allowed_as_data(tmp_path: Path) -> None:
    # One level is the document itself; the rest fits: the error is about the key, not depth.
    n = MAX_DEPTH - 1
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nx: " + "[" * n + "]" * n + "\n")
    err = config_error(path)
    assert "unknown key 'x'" in str(err) and "nested" not in str(err)


# ---------------------------------------------------------------- strings and keys


def test_a_lone_surrogate_escape_is_a_positioned_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(MINIMAL.replace("model: p/m}", 'model: p/m, description: "a \\ud800"}'))
    err = config_error(path)
    assert "unpaired UTF-16 surrogate" in str(err)
    assert str(err).startswith(f"{path}:5:")
    assert "lanes.main.description" in str(err)
    assert_clean_exit2(cli("config", "check", str(path)), f"{path}:5:", "surrogate")


def test_an_escaped_surrogate_pair_becomes_its_character(tmp_path: Path) -> None:
    path = tmp_path / "pair.yaml"
    path.write_text(MINIMAL.replace("model: p/m}", 'model: p/m, description: "\\ud83d\\ude00"}'))
    assert load_config(path).config.lanes["main"].description == "\U0001f600"
    oc = tmp_path / "openclaw.json"
    oc.write_text('{agents: {defaults: {model: "anthropic/x"}}, note: "\\ud83d\\ude00"}')
    assert load_openclaw(oc).data["note"] == "\U0001f600"


def test_a_lone_surrogate_in_openclaw_json_is_refused_at_the_escape(tmp_path: Path) -> None:
    oc = tmp_path / "openclaw.json"
    oc.write_text('{\n  agents: {},\n  note: "x\\udc00"\n}\n')
    with pytest.raises(ConfigError) as info:
        load_openclaw(oc)
    assert str(info.value).startswith(f"{oc}:3:11: note: the string holds an unpaired")


@pytest.mark.parametrize(
    ("body", "path_text"),
    [
        ('"[0]": 1\n', '["[0]"]: unknown key'),
        ('lanes:\n  "[0]": {role: helper, harness: ollama, model: p/m}\n', "lane id '[0]'"),
        ('  "[0]": {tier: nope}\n', 'models["[0]"].tier'),
        ('lanes:\n  "": {}\n', 'lanes[""]'),
        ("lanes:\n  list: {}\n", "lanes.list.role"),
        ('lanes:\n  "function-after[x, y]": {}\n', 'lanes["function-after[x, y]"]'),
    ],
)
def test_keys_that_look_like_paths_are_reported_not_crashed_on(
    tmp_path: Path, body: str, path_text: str
) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("version: 1\nmodels:\n  p/m: {tier: cheap}\n" + body)
    err = config_error(path)
    assert path_text in str(err), str(err)
    r = cli("config", "check", str(path))
    assert_clean_exit2(r, str(path))


def test_a_mapping_key_that_is_an_alias_bomb_is_not_constructed(tmp_path: Path) -> None:
    path = tmp_path / "keybomb.yaml"
    path.write_text("version: 1\na: &a [1, 2]\n? *a\n: value\n")
    err = config_error(path)
    assert "a mapping key must be a plain scalar" in str(err)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\ufffe"])
def test_a_control_character_is_reported_by_line_and_column(tmp_path: Path, char: str) -> None:
    path = tmp_path / "ctl.yaml"
    path.write_text(f"version: 1\nlanes:\n  main: a{char}b\n", encoding="utf-8")
    err = config_error(path)
    assert str(err).startswith(f"{path}:3:10: the file holds a character YAML does not allow")


def test_invalid_utf8_is_positioned_in_both_formats(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"version: 1\nx: \xff\n")
    assert str(config_error(path)).startswith(f"{path}:2:4: the file is not valid UTF-8")
    oc = tmp_path / "openclaw.json"
    oc.write_bytes(b'{\n  a: "\xc3"}')
    with pytest.raises(ConfigError) as info:
        load_openclaw(oc)
    assert str(info.value).startswith(f"{oc}:2:7: the file is not valid UTF-8")


# ---------------------------------------------------------------- JSON5 nesting


@pytest.mark.parametrize("n", [33, 60, 1000, 100_000])
def test_deep_json5_is_refused_at_the_bracket_not_by_recursion(tmp_path: Path, n: int) -> None:
    oc = tmp_path / "openclaw.json"
    oc.write_text('{"a": ' + "[" * n + "]" * n + "}")
    with pytest.raises(ConfigError) as info:
        load_openclaw(oc)
    assert str(info.value).startswith(f"{oc}:1:{6 + MAX_DEPTH}: nested more than {MAX_DEPTH}")


def test_brackets_in_json5_strings_and_comments_do_not_count(tmp_path: Path) -> None:
    oc = tmp_path / "openclaw.json"
    many = "[" * 200
    oc.write_text(
        f'// {many}\n/* {many}\n {many} */\n{{note: "{many}", other: \'{many}\\\'{many}\','
        ' agents: {defaults: {model: "anthropic/claude-sonnet-4-5"}}}\n'
    )
    assert load_openclaw(oc).data["note"] == many


def test_deep_json5_through_the_real_cli(tmp_path: Path) -> None:
    oc = tmp_path / "openclaw.json"
    oc.write_text("[" * 60 + "]" * 60)
    r = cli("preflight", "--openclaw", str(oc))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f"{oc}:1:{MAX_DEPTH + 1}: nested more than" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "RecursionError" not in r.stdout + r.stderr


# ---------------------------------------------------------------- routing patterns


def routing_config(tmp_path: Path, regex: str) -> Path:
    path = tmp_path / "route.yaml"
    rules = {"name": "evil", "match": {"regex": regex}, "lane": "main"}
    path.write_text(
        MINIMAL
        + "  other: {role: helper, harness: codex, model: p/m}\n"
        + "routing:\n  default: other\n  rules:\n    - "
        + json.dumps(rules)
        + "\n"
    )
    return path


@pytest.mark.parametrize("regex", [r"(a+)+$", r"(a|aa)+$", r"(a*)*b", r"(x+x+)+y", r"^(\w+\s?)*$"])
def test_a_catastrophic_regex_cannot_hang_route(tmp_path: Path, regex: str) -> None:
    path = routing_config(tmp_path, regex)
    subject = "a" * 40_000 + "!"
    r = cli("route", subject, "--json", "--config", str(path))
    assert r.returncode == 0, r.stderr
    decision = json.loads(r.stdout)
    # Python's `re` would take longer than the universe on this; RE2 answers at once.
    assert decision["lane"] in {"main", "other"}


def test_the_in_process_router_answers_catastrophic_inputs(tmp_path: Path) -> None:
    router = Router(load_config(routing_config(tmp_path, r"^(\w+\s?)*$")))
    assert router.route("word " * 5000 + "!").lane == "other"
    assert router.route("word " * 50).lane == "main"


@pytest.mark.parametrize(
    "regex", [r"(a)\1", r"(?=x)y", r"(?<!x)y", r"(?>ab)", r"(?x) a b", r"(?P=n)", r"\Z", "("]
)
def test_patterns_re2_cannot_run_fail_config_check_with_a_position(
    tmp_path: Path, regex: str
) -> None:
    path = routing_config(tmp_path, regex)
    err = config_error(path)
    assert str(err).startswith(f"{path}:10:")
    assert "routing.rules[0].match.regex: regex is not valid" in str(err)
    assert "RE2" in str(err)
    r = cli("config", "check", str(path))
    assert_clean_exit2(r, f"{path}:10:", "regex is not valid")
    assert "re2.cc" not in r.stderr  # RE2's own logging stays off


def test_routing_text_that_is_not_valid_unicode_does_not_crash(tmp_path: Path) -> None:
    router = Router(load_config(routing_config(tmp_path, r"deploy\s+now")))
    # stdin decoded with surrogateescape hands the router lone surrogates.
    assert router.route("\udcff deploy now").lane == "main"
    assert router.route("\udcff nothing").lane == "other"


def test_re2_case_folding_adds_no_ascii_lookalike_the_prefilter_does_not_know() -> None:
    """The router's literal prefilter folds text with _ASCII_LOOKALIKES; a character that
    RE2 matches case-insensitively to an ASCII letter or digit but that table misses would
    let the prefilter drop a rule that matches."""
    options = re2.Options()
    options.case_sensitive = False
    everything = "".join(
        chr(cp) for cp in range(0x80, sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF
    )
    found = {m.group() for m in re2.compile("[a-z0-9]", options).finditer(everything)}
    assert found <= set(_ASCII_LOOKALIKES), found - set(_ASCII_LOOKALIKES)
