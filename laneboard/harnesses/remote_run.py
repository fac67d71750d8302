"""A headless agent run (`codex exec`, `claude -p`) on a lane's host, over its SSH link.

Why a HeadlessRun of its own: the run's stdout (JSONL events) must come back here line by
line exactly as a local run's does, so the harness's event parsing stays the same; only
where the process runs changes. The local process is an ssh client on the host's master
(`SshLink.argv_for`: every word `shlex.quote`d); on the host a fixed `/bin/sh` script
takes the lane's cwd and argv as positional parameters — never spliced into code.

The environment does not travel on the command line (a key there would show in the
host's `ps`): the script reads `NAME=value` lines from stdin up to an empty line, exports
them, and then runs the agent with stdin from /dev/null (both CLIs wait for EOF on a
pipe). Names are checked here (`[A-Za-z_][A-Za-z0-9_]*`), values may not hold a newline.
Only what the lane needs is sent — the lane's own `env`, its key variable, the harness's
own settings (CODEX_HOME…) — never this machine's whole environment: PATH, HOME and the
rest are the host's.

The script prints `LBPID <pid>` first (the agent's pid there: `exec` keeps it), so that
`kill` ends the agent on the host too, not only the local ssh client.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence

from laneboard.errors import BinaryMissing, HarnessError
from laneboard.harnesses.headless import LINE_LIMIT, HeadlessRun
from laneboard.harnesses.ssh_link import SshLink

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SCRIPT = (
    'cd -- "$1" || { echo "laneboard: no directory $1 on this host" >&2; exit 97; }; shift; '
    'while IFS= read -r kv; do [ -n "$kv" ] || break; export "$kv" || exit 96; done; '
    'echo "LBPID $$"; exec "$@" </dev/null'
)


def env_lines(env: Mapping[str, str]) -> bytes:
    """`env` as the NAME=value lines the host script exports (ValueError on a bad one)."""
    out = []
    for name, value in env.items():
        if not _NAME.match(name):
            raise ValueError(f"not an environment variable name: {name!r}")
        if "\n" in value or "\r" in value or "\0" in value:
            raise ValueError(f"the value of {name} holds a newline or NUL")
        out.append(f"{name}={value}\n")
    return ("".join(out) + "\n").encode("utf-8")


class RemoteRun(HeadlessRun):
    """`HeadlessRun` whose process runs on `link`'s host (see the module docstring)."""

    def __init__(
        self,
        link: SshLink,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        what: str,
    ) -> None:
        super().__init__(argv, cwd=cwd, env={}, what=what)
        self.link = link
        self.remote_env = dict(env)
        self.remote_pid: int | None = None

    async def __aenter__(self) -> RemoteRun:
        try:
            data = env_lines(self.remote_env)
        except ValueError as exc:
            raise HarnessError(f"{self.what}: cannot send the lane's env to its host: {exc}") from exc
        await self.link.ensure()
        argv = self.link.argv_for(["/bin/sh", "-c", _SCRIPT, "sh", self.cwd, *self.argv])
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=LINE_LIMIT,
            )
        except FileNotFoundError as exc:
            raise BinaryMissing(f"{self.what}: cannot run ssh: {exc}") from exc
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await self.proc.stdin.drain()
        self.proc.stdin.close()
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        return self

    async def lines(self, deadline: float) -> AsyncIterator[str]:
        """The agent's stdout lines, without the script's own `LBPID` line."""
        async for line in super().lines(deadline):
            if self.remote_pid is None and line.startswith("LBPID "):
                with contextlib.suppress(ValueError):
                    self.remote_pid = int(line.split()[1])
                continue
            yield line

    async def kill(self) -> None:
        """End the agent on the host (TERM, by the pid it reported), then the ssh client."""
        proc = self.proc
        if proc is not None and proc.returncode is None and self.remote_pid is not None:
            with contextlib.suppress(HarnessError, OSError):
                await self.link.run(["kill", "-TERM", "--", str(self.remote_pid)], timeout=10.0)
        await super().kill()
