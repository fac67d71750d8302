"""The fence of a `command` lane, enforced by a bubblewrap sandbox around the program.

Why: a command lane runs an arbitrary program. laneboard cannot see inside it, so
`fences.deny` (text matching on commands) cannot apply there, and without a sandbox a lane
shown as `fence: read-only` could write anywhere its user can. The fence is therefore
enforced by the kernel, through bubblewrap (Debian's `bubblewrap`, `/usr/bin/bwrap`):

- read-only and plan: the whole filesystem mounted read-only (`--ro-bind / /`), a fresh
  `/dev` and `/proc`, and a private, empty `/tmp` that vanishes with the lane (the cwd is
  bound back in read-only if it lies under /tmp) — nothing else is writable, not even
  `$HOME`;
- workspace-write: the same, plus the lane's cwd bound read-write;
- full: no sandbox (the person chose no fence).

The sandbox is never optional for a fenced lane: if `bwrap` is missing or cannot create
its namespaces here, `check_sandbox` raises SandboxUnavailable and the lane does not start
(laneboard never silently runs a fenced lane unsandboxed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from laneboard.core.vocabulary import FENCES
from laneboard.errors import HarnessError

__all__ = ["SandboxUnavailable", "check_sandbox", "sandbox_argv", "sandboxed"]

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"


class SandboxUnavailable(HarnessError):
    """A fenced command lane cannot be sandboxed here, so it is not started."""


def sandboxed(fence: str) -> bool:
    """Whether a command lane with `fence` runs inside the sandbox (all but `full`)."""
    return fence != "full"


def sandbox_argv(fence: str, cwd: str, argv: Sequence[str], *, bwrap: str = "bwrap") -> list[str]:
    """`argv` wrapped so that it can write only what `fence` allows (see module docstring).

    `cwd` must be absolute: it is bound and entered by path inside the sandbox.
    """
    if not sandboxed(fence):
        return list(argv)
    if fence not in FENCES:
        raise ValueError(f"unknown fence {fence!r}")
    cwd = os.path.abspath(cwd)
    wrap = [
        bwrap,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--die-with-parent",
    ]  # fmt: skip
    # The cwd is bound after the private /tmp, so a lane whose cwd lies under /tmp still
    # sees it: read-only for read-only lanes, writable for workspace-write.
    wrap += ["--bind" if fence == "workspace-write" else "--ro-bind", cwd, cwd]
    # Files the command line names under /tmp (a script, its input) stay visible, read-only.
    # The interpreter that restores the signals (below) runs inside the sandbox too: the
    # real file, not a virtualenv's symlink, and bound back in if it lives under /tmp.
    shim = os.path.realpath(sys.executable)
    for path in _under_tmp([shim, *argv], cwd):
        wrap += ["--ro-bind", path, path]
    wrap += ["--chdir", cwd, "--"]
    # Ctrl-C in the pane signals the whole foreground process group, bwrap included; a
    # bwrap killed by SIGINT takes its child down (--die-with-parent), so an interrupt
    # would end the lane instead of its turn. bwrap therefore runs with SIGINT/SIGQUIT
    # ignored (a disposition survives exec), and the program gets them back by default
    # just before it starts. SIGHUP/SIGTERM still end bwrap, and with it the program.
    return [shim, "-c", _IGNORE_THEN_EXEC, *wrap, shim, "-c", _DEFAULT_THEN_EXEC, *argv]


_IGNORE_THEN_EXEC = (
    "import os, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGQUIT): signal.signal(s, signal.SIG_IGN)\n"
    "os.execvp(sys.argv[1], sys.argv[1:])"
)
_DEFAULT_THEN_EXEC = (
    "import os, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGQUIT): signal.signal(s, signal.SIG_DFL)\n"
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def _under_tmp(argv: Sequence[str], cwd: str) -> list[str]:
    """Existing absolute paths in `argv` below /tmp and outside `cwd`, in order, once."""
    found: list[str] = []
    for word in argv:
        path = os.path.normpath(word) if word.startswith("/tmp/") else ""
        inside_cwd = path == cwd or path.startswith(cwd.rstrip("/") + "/")
        if path and not inside_cwd and os.path.exists(path) and path not in found:
            found.append(path)
    return found


def check_sandbox(fence: str, cwd: str, *, lane: str, bwrap: str = "bwrap") -> str | None:
    """The bwrap path for a fenced lane, after proving it can start a sandbox here.

    Returns None for `full` (no sandbox). Raises SandboxUnavailable naming the lane when
    bwrap is missing or fails (no user namespaces, a seccomp policy…), with its message.
    """
    if not sandboxed(fence):
        return None
    path = shutil.which(bwrap)
    if path is None:
        raise SandboxUnavailable(
            f"lane {lane!r}: fence {fence!r} needs the bubblewrap sandbox, and `{bwrap}` is not "
            f"installed; {INSTALL_HINT} (or give the lane `fence: full`). laneboard will not "
            "run a fenced command lane unsandboxed"
        )
    try:
        probe = subprocess.run(
            sandbox_argv(fence, cwd, ["/bin/true"], bwrap=path),
            capture_output=True, text=True, timeout=15, cwd=cwd, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(
            f"lane {lane!r}: the bubblewrap sandbox did not start ({exc}); laneboard will not "
            "run a fenced command lane unsandboxed"
        ) from exc
    if probe.returncode != 0:
        why = (probe.stderr or probe.stdout).strip().splitlines()
        raise SandboxUnavailable(
            f"lane {lane!r}: the bubblewrap sandbox did not start "
            f"({why[-1] if why else f'exit {probe.returncode}'}); enable unprivileged user "
            "namespaces or run as a user bwrap may use. laneboard will not run a fenced "
            "command lane unsandboxed"
        )
    return path
