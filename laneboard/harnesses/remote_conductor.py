"""The conductor's MCP server for an agent lane that runs on another host.

Why: a lane allowed to delegate gets `laneboard mcp` as an MCP server, a process its
agent CLI starts — for a lane with `host:`, ON THE HOST. That process needs laneboard (and
the MCP SDK) installed there, and it must reach the supervisor's control socket, which is
a unix socket on THIS machine. The supervisor's relays (`lanes.relays`) forward that
socket to a socket file in laneboard's private 0700 directory on the host (`ssh -O forward
-R`), and hand the lane a spec whose `control_socket` is the host's path. What is left is
this module's: which interpreter on the host runs `laneboard mcp`, and what the lane does
when there is none.

- The interpreter: the lane env's `LANEBOARD_PYTHON` when set — and then only that one (a
  person who named an interpreter gets that laneboard, never another one found on the
  way) — else this interpreter's path (the same layout there), else `python3`. It counts
  when it imports both laneboard's MCP front end and the MCP SDK, asked on the host.
- None found, or no forwarded socket: the lane starts without laneboard's tools (never a
  crash: the lane's own work does not need them) and says so ONCE — a warning in the log
  and an `ErrorRaised(kind="conductor")` the supervisor shows as the lane's last error —
  naming the host and the fix. Preflight's `host.conductor` says the same before a start.
- The lane token never goes on a command line on the host (its `ps` shows argv to every
  user there): codex gets it through `mcp_servers.laneboard.env_vars` from the run's own
  environment, which `remote_run` sends over stdin (`TOKEN_ENV` in `remote_env`).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Mapping

from laneboard.harnesses.base import HarnessSpec
from laneboard.harnesses.remote_host import RemoteHost
from laneboard.harnesses.ssh_link import SshLink

log = logging.getLogger(__name__)

__all__ = ["PROBE", "RemoteConductor", "candidates", "laneboard_python"]

#: What `laneboard mcp` imports first: laneboard's MCP front end and the SDK under it.
PROBE = "import mcp.server, laneboard.conductor.mcp_server"
TOKEN_ENV = "LANEBOARD_LANE_TOKEN"


def candidates(env: Mapping[str, str]) -> list[str]:
    """The interpreters tried on the host, in order (see the module docstring)."""
    named = env.get("LANEBOARD_PYTHON")
    if named:
        return [named]
    return [p for p in (sys.executable, "python3") if p]


async def laneboard_python(link: SshLink, env: Mapping[str, str],
                           timeout: float = 60.0) -> str | None:
    """The first interpreter on `link`'s host that can run `laneboard mcp`, or None."""
    for python in candidates(env):
        rc, _out, _err = await link.run([python, "-c", PROBE], timeout=timeout)
        if rc == 0:
            return python
    return None


def missing_note(lane: str, host: str, env: Mapping[str, str]) -> str:
    """The one line a lane without laneboard on its host says (log, lane error, preflight)."""
    tried = ", ".join(candidates(env))
    return (
        f"lane {lane} on host {host!r} runs without laneboard's tools (no delegation): no "
        f"interpreter there runs `laneboard mcp` (tried {tried}: none imports laneboard and "
        "the mcp SDK); install laneboard on that host and set LANEBOARD_PYTHON in the "
        "lane's env to its python"
    )


@dataclasses.dataclass
class RemoteConductor:
    """What one remote lane's harness knows of its conductor attachment (asked once)."""

    host: RemoteHost
    python: str | None = None
    note: str | None = None
    _asked: bool = False
    _said: bool = False

    async def attach(self, spec: HarnessSpec) -> tuple[HarnessSpec, str | None]:
        """(the spec to build the host's command line from, the interpreter that runs
        `laneboard mcp` there); the spec without the conductor — and `note` set, for the
        caller to say once — when the lane cannot have it."""
        if not (spec.control_socket and spec.lane_token):
            return dataclasses.replace(spec, control_socket=None, lane_token=None), None
        if not self._asked:
            self.python = await laneboard_python(self.host.link, spec.env)
            self._asked = True
            if self.python is None:
                self.note = missing_note(spec.lane, self.host.name, spec.env)
        if self.python is None:
            return dataclasses.replace(spec, control_socket=None, lane_token=None), None
        return spec, self.python

    def say_once(self) -> str | None:
        """The note, the first time it is asked for (then None): said once per harness."""
        if self.note is None or self._said:
            return None
        self._said = True
        log.warning("%s", self.note)
        return self.note
