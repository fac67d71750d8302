"""How laneboard's MCP server is attached to a codex or claude lane: argv and config.

Pure functions of (lane, token, python executable, control socket) and nothing else of
laneboard, so the harness layer can call them without importing the supervisor.

- codex: `-c mcp_servers.laneboard.command=…`, `.args=[…]`, `.env.…=…` (TOML values;
  codex parses each `-c` value as TOML and keeps it as a string when it does not parse),
  plus the server's timeouts, `required`/`startup_readiness` (wait for its tools before
  the first request) and `default_tools_approval_mode="approve"` for this server only.
- claude: `--mcp-config <file> --strict-mcp-config` (strict: a fenced lane gets laneboard's
  server and no other), and `--allowedTools mcp__laneboard__*`: laneboard pre-allows its
  own tools — their policy is enforced by the control server — and never answers any
  other permission prompt. The config file holds the token, so it is written 0600.
  Claude Code 2.1.328 connects MCP servers in the background and sends a prompt typed
  before `laneboard mcp` answered with laneboard's tools "not yet available" (observed;
  a plan lane has no ToolSearch to wait for them), so the server touches a marker
  (`LANEBOARD_MCP_READY`, next to the config) when it first lists its tools, and the
  harness waits for it (`wait_ready`) before it calls the lane ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

__all__ = ["READY_ENV", "SERVER_NAME", "STARTUP_TIMEOUT_S", "TOKEN_ENV", "TOOL_TIMEOUT_S",
           "claude_args",
           "claude_mcp_config", "codex_args", "ready_marker", "server_env", "wait_ready",
           "write_claude_config"]

SERVER_NAME = "laneboard"
_TOOLS = "mcp__laneboard__*"
#: Seconds codex waits for `laneboard mcp` to start (an import of the MCP SDK on a busy
#: machine) and for one tool call (a delegate's whole turn, plus margin).
STARTUP_TIMEOUT_S = 30
TOOL_TIMEOUT_S = 3600
#: The variable naming the file `laneboard mcp` touches once it has listed its tools.
READY_ENV = "LANEBOARD_MCP_READY"


#: The variable that carries the lane's token to `laneboard mcp`.
TOKEN_ENV = "LANEBOARD_LANE_TOKEN"


def server_env(lane: str, token: str, socket: Path | str) -> dict[str, str]:
    """The MCP server's environment: which lane it speaks for, and where the supervisor is."""
    return {TOKEN_ENV: token, "LANEBOARD_CONTROL_SOCKET": str(socket),
            "LANEBOARD_LANE": lane}


def _command(python: str) -> tuple[str, list[str]]:
    return python, ["-m", "laneboard", "mcp"]


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def codex_args(lane: str, token: str, python: str, socket: Path | str, *,
               token_from_env: bool = False) -> list[str]:
    """The `-c` overrides that give a codex lane laneboard's MCP server.

    `token_from_env`: the token is not written into argv; codex hands its own
    `LANEBOARD_LANE_TOKEN` to the server (`env_vars`), which the caller puts in codex's
    environment — for a lane on another host, whose argv every user there can read."""
    cmd, args = _command(python)
    out = ["-c", f"mcp_servers.{SERVER_NAME}.command={_toml_str(cmd)}",
           "-c", f"mcp_servers.{SERVER_NAME}.args=[{', '.join(_toml_str(a) for a in args)}]"]
    for key, value in server_env(lane, token, socket).items():
        if token_from_env and key == TOKEN_ENV:
            continue
        out += ["-c", f"mcp_servers.{SERVER_NAME}.env.{key}={_toml_str(value)}"]
    if token_from_env:
        out += ["-c", f"mcp_servers.{SERVER_NAME}.env_vars=[{_toml_str(TOKEN_ENV)}]"]
    # A delegation lasts as long as the delegate's turn (minutes), far past codex's 60 s
    # default tool timeout; the server itself bounds it (`timeout_s`, default 600 s).
    # codex 0.169 sends its first model request without waiting for an MCP server unless
    # told to: `required` + `startup_readiness="catalog"` make it wait for the tool list
    # (observed: without them the `mcp__laneboard` tools were missing from the first
    # request whenever `laneboard mcp` took a second to import).
    out += ["-c", f"mcp_servers.{SERVER_NAME}.startup_timeout_sec={STARTUP_TIMEOUT_S}",
            "-c", f"mcp_servers.{SERVER_NAME}.tool_timeout_sec={TOOL_TIMEOUT_S}",
            "-c", f"mcp_servers.{SERVER_NAME}.required=true",
            "-c", f'mcp_servers.{SERVER_NAME}.startup_readiness="catalog"']
    # laneboard grants its own tools, and only those (their policy is the control
    # server's): with `approval_policy="never"` codex otherwise refuses every MCP call
    # ("requires approval, but approval policy is never"). No other approval changes.
    out += ["-c", f'mcp_servers.{SERVER_NAME}.default_tools_approval_mode="approve"']
    return out


def claude_mcp_config(lane: str, token: str, python: str, socket: Path | str,
                      ready: Path | None = None) -> dict[str, object]:
    """The `--mcp-config` document for a claude lane (`ready`: its readiness marker)."""
    cmd, args = _command(python)
    env = server_env(lane, token, socket) | ({READY_ENV: str(ready)} if ready else {})
    return {"mcpServers": {SERVER_NAME: {"type": "stdio", "command": cmd, "args": args,
                                         "env": env}}}


def ready_marker(config_path: Path | str) -> Path:
    """The marker `laneboard mcp` touches for the lane whose config is `config_path`."""
    return Path(config_path).with_suffix(".ready")


async def wait_ready(config_path: Path | str, timeout: float = STARTUP_TIMEOUT_S) -> bool:
    """Wait (bounded) until the lane's `laneboard mcp` has listed its tools to the agent;
    False when it has not by `timeout` (the lane then runs, its tools arriving late)."""
    marker = ready_marker(config_path)
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def write_claude_config(folder: Path, lane: str, token: str, python: str,
                        socket: Path | str) -> Path:
    """Write the lane's MCP config (0600, atomically) into `folder`; return its path.

    The name carries a digest of the control socket: a claude harness keeps its files in
    one folder per lane *name*, shared by every session that has a lane of that name, and
    two sessions' `main` lanes must not overwrite each other's token and socket."""
    import hashlib

    tag = hashlib.sha256(str(socket).encode()).hexdigest()[:10]
    path = folder / f"mcp-{lane}-{tag}.json"
    ready = ready_marker(path)
    ready.unlink(missing_ok=True)  # the last start's: this start waits for its own
    data = json.dumps(claude_mcp_config(lane, token, python, socket, ready), indent=1)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def claude_args(config_path: Path | str) -> list[str]:
    """The claude flags for a lane whose MCP config is at `config_path`."""
    return ["--mcp-config", str(config_path), "--strict-mcp-config", "--allowedTools", _TOOLS]
