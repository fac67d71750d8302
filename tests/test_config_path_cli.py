"""`laneboard config path` prints the file actually in effect — a real path you can open —
and why that one; a file named by --config or $LANEBOARD_CONFIG that is not there is a
clear error (exit 2), as it would be for every other command. Real CLI subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import laneboard

MINIMAL = "version: 1\nlanes:\n  w: {role: helper, harness: command, command: [cat]}\n"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "LANEBOARD_CONFIG"}
    base.update({"HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd / "xdg")})
    return subprocess.run([sys.executable, "-m", "laneboard", *args], capture_output=True,
                          text=True, cwd=cwd, env={**base, **(env or {})}, timeout=60)  # fmt: skip


def test_shipped_default_is_the_real_file(tmp_path: Path) -> None:
    res = run_cli("config", "path", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    shipped = Path(laneboard.__file__).parent / "default_config.yaml"
    assert doc == {"path": str(shipped), "reason": "shipped default", "shipped": True}
    assert Path(doc["path"]).read_bytes() == shipped.read_bytes()
    plain = run_cli("config", "path", cwd=tmp_path)
    assert plain.stdout == f"{shipped}\t(shipped default)\n"


def test_each_source_prints_an_absolute_existing_file(tmp_path: Path) -> None:
    (tmp_path / "laneboard.yaml").write_text(MINIMAL)
    res = run_cli("config", "path", "--json", cwd=tmp_path)
    assert json.loads(res.stdout)["path"] == str((tmp_path / "laneboard.yaml").resolve())
    user = tmp_path / "xdg" / "laneboard" / "config.yaml"
    user.parent.mkdir(parents=True)
    user.write_text(MINIMAL)
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    res = run_cli("config", "path", cwd=elsewhere, env=xdg)
    assert res.stdout == f"{user}\t(user config directory)\n"
    rel = run_cli("--config", "../laneboard.yaml", "config", "path", "--json", cwd=elsewhere, env=xdg)
    assert json.loads(rel.stdout) == {
        "path": str((tmp_path / "laneboard.yaml").resolve()), "reason": "--config", "shipped": False,
    }  # fmt: skip
    env = run_cli("config", "path", cwd=elsewhere, env={"LANEBOARD_CONFIG": str(user)})
    assert env.stdout == f"{user}\t($LANEBOARD_CONFIG)\n"


def test_a_named_file_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    res = run_cli("--config", "missing.yaml", "config", "path", cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    assert "missing.yaml: no such file (named by --config)" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_cli("config", "path", cwd=tmp_path, env={"LANEBOARD_CONFIG": str(tmp_path)})
    assert res.returncode == 2
    assert "not a regular file (named by $LANEBOARD_CONFIG)" in res.stderr
