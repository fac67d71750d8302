"""`laneboard gateway run|status|stop`: the model gateway every lane talks through.

`run` serves in the foreground (the supervisor starts it in tmux's hidden `_gateway`
window; `--supervise` restarts it with growing backoff when it dies); `status --json`
prints `{url, pid, uptime_s, lanes: {LANE: {requests, input_tokens, output_tokens,
cost_usd, refused, redactions, fallbacks, failover_skipped, routes_skipped}},
missing_keys}` (`missing_keys`: key variables the routes need that the gateway does not
hold, names only); `stop` ends it. Heavy imports (aiohttp) happen inside the commands, so
`laneboard --help` stays fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

#: Backoff between restarts of a gateway that died: 0.5 s, doubling, at most 30 s.
BACKOFF = (0.5, 30.0)


def _folder(folder: str | None, socket: str | None) -> Path:
    from laneboard.errors import UnsafePath
    from laneboard.gateway.statefiles import gateway_dir
    from laneboard.harnesses.private_fs import ensure_private_dir

    try:
        if folder:
            return ensure_private_dir(Path(folder))
        from laneboard.lanes.statefile import state_dir

        return gateway_dir(state_dir(), socket)
    except (UnsafePath, OSError) as e:
        raise click.UsageError(str(e)) from e


_opts = [
    click.option("--folder", type=click.Path(file_okay=False), default=None,
                 help="The gateway's private folder (default: in the state dir)."),
    click.option("--socket", default=None, help="tmux socket whose gateway this is."),
]


def _with_opts(f: click.decorators.FC) -> click.decorators.FC:
    for o in reversed(_opts):
        f = o(f)
    return f


@click.group(name="gateway")
def gateway() -> None:
    """The model gateway: redacts, fences, routes, fails over and counts every request."""


@gateway.command()
@_with_opts
@click.option("--port", type=int, default=None, help="Port (default: the recorded one, else free).")
@click.option("--supervise", is_flag=True, help="Restart the server with backoff when it dies.")
@click.option("--keys-from", type=click.Path(dir_okay=False), default=None,
              help="A FIFO the spawner writes provider keys to (never a file).")
def run(folder: str | None, socket: str | None, port: int | None, supervise: bool,
        keys_from: str | None) -> None:
    """Serve on 127.0.0.1 until stopped."""
    where = _folder(folder, socket)
    if keys_from:
        # before anything else: --supervise keeps them in its environment for restarts
        from laneboard.gateway.key_handoff import HandoffError, take

        try:
            take(Path(keys_from))
        except (HandoffError, OSError) as e:
            click.echo(f"laneboard gateway: no provider keys handed over: {e}", err=True)
    if supervise:
        _supervise(where, port)
        return
    import asyncio
    import logging

    from laneboard.gateway.client import read_info
    from laneboard.gateway.server import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    old = read_info(where)
    wanted = port if port is not None else (old.port if old else 0)

    async def main() -> None:
        try:
            runner, bound = await serve(where, wanted)
        except OSError:
            if port is not None:
                raise
            runner, bound = await serve(where, 0)  # the recorded port is taken
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # SIGHUP too: its tmux window (or the whole tmux server) went away, so no lane can
        # reach this gateway any more; stay and it is an orphan that holds its port.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        logging.getLogger("laneboard.gateway").info("serving on 127.0.0.1:%d", bound)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


def _supervise(where: Path, port: int | None) -> None:
    delay = BACKOFF[0]
    argv = [sys.executable, "-m", "laneboard", "gateway", "run", "--folder", str(where)]
    if port is not None:
        argv += ["--port", str(port)]
    child: subprocess.Popen[bytes] | None = None

    def forward(sig: int, _frame: object) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(sig)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)
    while True:
        began = time.monotonic()
        child = subprocess.Popen(argv)
        code = child.wait()
        if code == 0:
            return
        delay = BACKOFF[0] if time.monotonic() - began > 60 else min(delay * 2, BACKOFF[1])
        click.echo(f"gateway exited with {code}; restarting in {delay:.1f}s", err=True)
        time.sleep(delay)  # restart backoff, not synchronisation


@gateway.command()
@_with_opts
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def status(folder: str | None, socket: str | None, as_json: bool) -> None:
    """URL, pid, uptime and per-lane counts."""
    from laneboard.gateway.client import status as read_status

    doc = read_status(_folder(folder, socket))
    if as_json:
        click.echo(json.dumps(doc))
        return
    if doc["url"] is None:
        click.echo("gateway: not running")
    else:
        click.echo(f"gateway: {doc['url']} pid {doc['pid']} up {doc['uptime_s']}s")
    for lane, c in sorted(doc["lanes"].items()):
        cost = "-" if c["cost_usd"] is None else f"${c['cost_usd']:.4f}"
        click.echo(f"  {lane}: {c['requests']} req, {c['input_tokens']} in / "
                   f"{c['output_tokens']} out, {cost}, {c['refused']} refused, "
                   f"{c['redactions']} redacted, {c['fallbacks']} fallbacks"
                   + (f", {c['failover_skipped']} fallbacks skipped (no credential)"
                      if c.get("failover_skipped") else ""))
    if doc.get("missing_keys"):
        names = ", ".join(f"${n}" for n in doc["missing_keys"])
        click.echo(f"  missing keys: {names} — fallbacks and routed tools on their providers "
                   "are skipped; export them and restart the gateway (laneboard gateway stop)")


@gateway.command()
@_with_opts
def stop(folder: str | None, socket: str | None) -> None:
    """Stop the running gateway (its supervisor too, when it has one)."""
    from laneboard.gateway.client import read_info

    info = read_info(_folder(folder, socket))
    if info is None:
        click.echo("gateway: not running")
        return
    try:
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes()
    except OSError:
        click.echo("gateway: not running")
        return
    if b"gateway" not in cmdline:
        click.echo(f"pid {info.pid} is not a laneboard gateway; not touching it", err=True)
        sys.exit(2)
    parent = _parent_of(info.pid)
    if parent and b"--supervise" in _cmdline(parent):
        os.kill(parent, signal.SIGTERM)  # the supervisor forwards it and does not restart
    else:
        os.kill(info.pid, signal.SIGTERM)
    click.echo(f"gateway: stopped pid {info.pid}")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
