"""Short commands for the live probes (`tmux -V`, `claude --version`, `codex login status`):
run with stdin closed and a deadline, and the line of their chatter that matters.

Why apart: the CLI probes and the login probes both spawn them; neither owns the other.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

PROC_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class CmdResult:
    """The outcome of one short command; `rc` is None when it did not finish."""

    found: bool
    rc: int | None
    out: str
    timed_out: bool = False


async def run_cmd(
    argv: list[str], env: Mapping[str, str], deadline: float = PROC_TIMEOUT_S
) -> CmdResult:
    """Run argv with stdin closed; kill it at the deadline."""
    exe = shutil.which(argv[0], path=env.get("PATH"))
    if exe is None:
        return CmdResult(False, None, "")
    try:
        proc = await asyncio.create_subprocess_exec(
            exe,
            *argv[1:],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
        )
    except OSError as e:
        return CmdResult(False, None, str(e))
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), deadline)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return CmdResult(True, None, "", timed_out=True)
    return CmdResult(True, proc.returncode, out.decode("utf-8", "replace").strip())


def first_line(text: str) -> str:
    return text.splitlines()[0].strip() if text.strip() else ""


def meaningful_line(text: str, pattern: str = r"\d+\.\d+") -> str:
    """The line that matters in a CLI's chatter (codex prints WARNINGs before its answer)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if re.search(pattern, ln) and not ln.upper().startswith("WARNING"):
            return ln
    quiet = [ln for ln in lines if not ln.upper().startswith("WARNING")]
    return (quiet or lines or [""])[-1]
