"""The command-lane sandbox runs from a virtualenv under /tmp too (CI clones often live
there): the signal shim inside the sandbox must not be the venv's path, which the sandbox's
private /tmp hides. A real venv under /tmp, a real bwrap, a real read-only lane."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_sandboxed_lane_starts_from_a_venv_under_tmp() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        env_dir, cwd = Path(tmp) / "venv", Path(tmp) / "lane"
        venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
        cwd.mkdir()
        code = (
            "import subprocess, sys; sys.path.insert(0, sys.argv[1]);"
            "from laneboard.harnesses.sandbox import sandbox_argv;"
            "argv = sandbox_argv('read-only', sys.argv[2], ['sh', '-c', 'echo inside; "
            "touch written 2>/dev/null || echo refused']);"
            "r = subprocess.run(argv, capture_output=True, text=True);"
            "print(r.returncode, r.stdout.split(), r.stderr.strip()[:200])"
        )
        done = subprocess.run([str(env_dir / "bin" / "python"), "-c", code, str(ROOT), str(cwd)],
                              capture_output=True, text=True, timeout=60)
        assert done.stdout.split(" ", 1)[0] == "0", done.stdout + done.stderr
        assert "'inside'" in done.stdout and "'refused'" in done.stdout, done.stdout
        assert not (cwd / "written").exists()
    assert sys.executable  # the test's own interpreter is untouched
