"""`laneboard mcp`: the conductor's MCP server on stdio, for one lane.

laneboard starts this itself for each lane allowed to delegate (see
`laneboard.harnesses.mcp_attach`); it needs `LANEBOARD_LANE_TOKEN` and the control socket
(`LANEBOARD_CONTROL_SOCKET` or `--socket`), and it never starts a supervisor: without a
running cockpit or `laneboard up`, every tool answers with an error saying so.
"""

from __future__ import annotations

import click


@click.command()
@click.option("--socket", "socket_path", type=click.Path(dir_okay=False),
              help="The control socket (default: $LANEBOARD_CONTROL_SOCKET).")
def mcp(socket_path: str | None) -> None:
    """Serve laneboard's conductor tools over MCP (stdio) for the lane in the environment."""
    import os

    from laneboard.conductor.mcp_server import serve
    from laneboard.conductor.protocol import SOCKET_ENV
    from laneboard.errors import UsageError

    if not (socket_path or os.environ.get(SOCKET_ENV)):
        raise UsageError(f"no control socket: pass --socket or set {SOCKET_ENV} "
                         "(laneboard sets it for the lanes it attaches this server to)")
    serve(socket_path)
