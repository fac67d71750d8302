"""`laneboard lanes status|start|stop|restart|model` and `laneboard up --headless`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, run

if TYPE_CHECKING:
    from pathlib import Path

    from laneboard.config import LoadedConfig
    from laneboard.lanes.supervisor import Supervisor


@click.group(invoke_without_command=True)
@click.pass_context
def lanes(ctx: click.Context) -> None:
    """Status, start, stop and restart lanes (lanes run in tmux and outlive laneboard)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(status)


@lanes.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def status(as_json: bool, config_path: str | None = None) -> None:
    """Every lane's state, pid, restarts, model, fence and usage."""
    from laneboard.lanes.supervisor import Supervisor

    loaded = load_config_for(config_path)

    async def go() -> list[dict[str, object]]:
        sup = Supervisor(loaded)
        try:
            await sup.observe()
            return sup.status()
        finally:
            await sup.close()

    rows = run(go())
    if as_json:
        emit_json({"lanes": rows})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("lane", "state", "pid", "restarts", "harness", "model", "fence", "prompts")
    for r in rows:
        usage = r["usage"]
        prompts = usage.get("prompts", 0) if isinstance(usage, dict) else 0
        table.add_row(
            str(r["id"]), str(r["state"]), str(r["pid"] or "-"), str(r["restarts"]),
            str(r["harness"]), str(r["model"] or "-"), str(r["fence"]), str(prompts),
        )
    Console().print(table)


def _lane_action(name: str, doc: str) -> click.Command:
    @click.command(name=name, help=doc)
    @click.argument("lane", required=False)
    @click.option("--all", "all_", is_flag=True, help="Every lane.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def _cmd(lane: str | None, all_: bool, as_json: bool, config_path: str | None = None) -> None:
        from laneboard.errors import UsageError
        from laneboard.lanes.supervisor import Supervisor

        loaded = load_config_for(config_path)
        if not lane and not all_:
            raise UsageError(f"name a lane or pass --all (lanes: {', '.join(loaded.config.lanes)})")
        ids = list(loaded.config.lanes) if all_ else [lane or ""]

        async def go() -> list[dict[str, object]]:
            sup = Supervisor(loaded)
            try:
                for lane_id in ids:
                    sup.lane(lane_id)  # unknown lane → LaneError before anything happens
                if name != "stop":  # a lane (re)started here keeps the running conductor
                    from laneboard.conductor.attach import attach_running

                    for lane_id in ids:
                        if note := await attach_running(sup, lane_id):
                            click.echo(note, err=True)
                rows: list[dict[str, object]] = []
                for lane_id in ids:
                    if name == "start":
                        await sup.start_lane(lane_id, by_user=True)
                    elif name == "stop":
                        await sup.stop_lane(lane_id)
                    else:
                        await sup.restart_lane(lane_id)
                    rt = sup.lanes[lane_id]
                    # the row as `lanes status --json` shows it, taken right after the action
                    rows.append(rt.status())
                    if not as_json:
                        click.echo(f"{lane_id}: {rt.state}{' — ' + rt.detail if rt.detail else ''}")
                return rows
            finally:
                await sup.close()

        rows = run(go())
        if as_json:
            emit_json({"action": name, "lanes": rows})
        if any(r["state"] == "failed" for r in rows):
            raise SystemExit(1)

    return _cmd


lanes.add_command(_lane_action("start", "Start LANE (or every lane with --all); adopts a running one."))
lanes.add_command(_lane_action("stop", "Stop LANE (or --all) and close its tmux window; no auto-restart."))
lanes.add_command(_lane_action("restart", "Stop and start LANE (or --all), clearing its start limit."))


def _lane_repo(lane: str, config_path: str | None) -> Path:
    """The repository LANE's worktree belongs to: its configured cwd's, else this directory's.

    A replica (`coder-2`) uses its group's (`coder`) cwd.
    """
    from pathlib import Path

    from laneboard.errors import UsageError
    from laneboard.lanes.worktrees import repo_root

    loaded = load_config_for(config_path)
    lanes_cfg = loaded.config.lanes
    group = lane if lane in lanes_cfg else lane.rsplit("-", 1)[0]
    cwd = lanes_cfg[group].cwd if group in lanes_cfg else None
    where = (Path.cwd() / cwd).resolve() if cwd else Path.cwd()
    root = repo_root(where)
    if root is None:
        raise UsageError(f"{where} is not inside a git repository; lane worktrees need one")
    return root


@lanes.command(name="diff")
@click.argument("lane")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def diff_cmd(lane: str, as_json: bool, config_path: str | None = None) -> None:
    """What LANE changed in its worktree against its base, file by file (committed or not)."""
    from laneboard.lanes.worktrees import diff

    doc = diff(_lane_repo(lane, config_path), lane)
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{doc['lane']}: {doc['branch']} against {doc['base']} in {doc['worktree']}")
    files = doc["files"]
    for f in files if isinstance(files, list) else []:
        click.echo(f"  {f['status']} {f['path']} +{f['added']} -{f['removed']}")


@lanes.command(name="merge")
@click.argument("lane")
@click.option("--squash", is_flag=True, help="One commit on the base instead of a merge commit.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def merge_cmd(lane: str, squash: bool, as_json: bool, config_path: str | None = None) -> None:
    """Merge LANE's branch (lb/LANE) into its base branch in the main working tree.

    Refused with exit 1, both trees left exactly as they were, when the merge conflicts,
    the main tree has uncommitted changes or is on another branch, or the lane's worktree
    has uncommitted changes.
    """
    from laneboard.lanes.worktrees import merge

    doc = merge(_lane_repo(lane, config_path), lane, squash=squash)
    if as_json:
        emit_json(doc)
    elif doc["merged"]:
        click.echo(f"{doc['branch']} merged into {doc['base']}: {doc['commit']}")
    else:
        click.echo(f"{doc['branch']}: {doc.get('reason', 'nothing to merge')}")


@lanes.command(name="discard")
@click.argument("lane")
@click.option("--force", is_flag=True,
              help="Save the lane's work as a patch (and a bundle of its commits), then remove.")
@click.option("--yes-delete-work", is_flag=True,
              help="With --force: skip the typed confirmation (for scripts).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def discard_cmd(lane: str, force: bool, yes_delete_work: bool, as_json: bool,
                config_path: str | None = None) -> None:
    """Remove LANE's worktree and branch, only when that loses nothing.

    Uncommitted changes or commits not in the base: refused with exit 1, naming them.
    `--force` saves everything first to <repo>/.laneboard/discarded/ (a patch `git apply`
    restores, a bundle `git fetch` restores) and asks you to type the lane name; in a
    script, add `--yes-delete-work` instead. Nothing else in laneboard removes a worktree.
    """
    import sys

    from laneboard.errors import UsageError
    from laneboard.lanes.worktrees import at_risk, discard

    repo = _lane_repo(lane, config_path)
    if force and not yes_delete_work:
        risk = at_risk(repo, lane)
        if risk["uncommitted"] or risk["commits"]:
            if not sys.stdin.isatty():
                raise UsageError("--force without a terminal needs --yes-delete-work too "
                                 "(the work is saved as a patch first either way)")
            click.echo(f"lane {lane}: {len(risk['uncommitted'])} uncommitted file(s), "
                       f"{len(risk['commits'])} unmerged commit(s) will be saved as a patch "
                       "and removed from the worktree.", err=True)
            typed = click.prompt(f"type {lane} to confirm", default="", show_default=False)
            if typed.strip() != lane:
                raise UsageError("not confirmed; nothing was removed")
    doc = discard(repo, lane, force=force)
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{lane}: removed {doc['worktree']} and {doc['branch']}")
    saved = doc["saved"]
    for kind, path in (saved.items() if isinstance(saved, dict) else []):
        click.echo(f"  saved {kind}: {path}")


@lanes.command(name="interrupt")
@click.argument("lane")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def interrupt(lane: str, as_json: bool, config_path: str | None = None) -> None:
    """Interrupt LANE's current turn through its harness (Escape for an agent CLI, Ctrl-C
    for a command lane); the lane keeps running. A lane that is not running is left alone
    (exit 1): an interrupt never starts anything.
    """
    from laneboard.errors import UsageError
    from laneboard.lanes.supervisor import Supervisor

    loaded = load_config_for(config_path)
    if lane not in loaded.config.lanes:
        raise UsageError(f"no lane named {lane!r} (lanes: {', '.join(loaded.config.lanes)})")

    async def go() -> dict[str, object]:
        sup = Supervisor(loaded)
        try:
            await sup.observe()
            rt = sup.lanes[lane]
            if rt.state in ("stopped", "failed") or rt.user_stopped:
                return {**rt.status(), "interrupted": False}
            await sup.start_lane(lane)  # adopts the running window; starts nothing new
            if rt.harness is None:
                return {**rt.status(), "interrupted": False}
            await rt.harness.interrupt()
            return {**rt.status(), "interrupted": True}
        finally:
            await sup.close()

    row = run(go())
    if as_json:
        emit_json(row)
    else:
        click.echo(f"{lane}: {'interrupted' if row['interrupted'] else 'not running; nothing interrupted'}")
    if not row["interrupted"]:
        raise SystemExit(1)


@lanes.command(name="model")
@click.argument("lane")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds to wait for a busy lane to finish its turn.")  # fmt: skip
@config_option
def model(lane: str, ref: str, as_json: bool, timeout: float, config_path: str | None = None) -> None:
    """Switch LANE to the model REF (an alias or provider/model from the allowlist).

    The cockpit's `/model`, from the command line: strict — REF alone, no fallback, so a
    failure is visible — and refused (exit 2) when REF is not allowed. A running lane
    switches at a clean point: after the turn it is in, then it restarts on REF. A lane
    that is not running starts on REF next time. The choice is kept in the state file, so
    every laneboard process (the cockpit, `up`, `send`) uses it.
    """
    from laneboard.errors import UsageError
    from laneboard.lanes.specs import lane_candidates
    from laneboard.lanes.supervisor import Supervisor

    loaded = load_config_for(config_path)
    if lane not in loaded.config.lanes:
        raise UsageError(f"no lane named {lane!r} (lanes: {', '.join(loaded.config.lanes)})")
    from laneboard.core.harness_kinds import kind

    if not kind(loaded.config.lanes[lane].harness).takes_model:
        raise UsageError(f"lane {lane!r} is a command lane: it runs a program, not a model")
    key = lane_candidates(loaded.config, lane, ref)[0].key  # not allowed → exit 2, nothing ran

    async def go() -> dict[str, object]:
        sup = Supervisor(loaded)
        try:
            await sup.observe()
            rt = sup.lanes[lane]
            running = rt.state not in ("stopped", "failed") and not rt.user_stopped
            if running:
                await sup.start_lane(lane)  # adopt the running lane (its window stays)
                await _until_idle(sup, lane, timeout)
            await sup.switch_model(lane, ref)
            return {**rt.status(), "applied": "restarted" if running else "next start", "ref": ref,
                    "key": key}  # fmt: skip
        finally:
            await sup.close()

    row = run(go())
    if as_json:
        emit_json(row)
    else:
        when = "restarted on it" if row["applied"] == "restarted" else "used from its next start"
        click.echo(f"{lane}: model {row['key']} (explicit, no fallback); {when}; state {row['state']}")
    if row["state"] == "failed":
        raise SystemExit(1)


async def _until_idle(sup: Supervisor, lane: str, timeout: float) -> None:
    """Wait (bounded) until an adopted lane is not in a turn: the clean point for a switch."""
    import asyncio
    import time

    from laneboard.errors import LaneError

    rt = sup.lanes[lane]
    deadline = time.monotonic() + timeout
    while rt.state in ("busy", "starting"):
        if time.monotonic() > deadline:
            raise LaneError(f"lane {lane} stayed {rt.state} for {timeout:g}s; the model was not switched")
        await asyncio.sleep(0.1)  # the pump updates rt.state from the pane


@click.command()
@click.option("--headless", is_flag=True, help="Run the supervisor without the TUI.")
@config_option
def up(headless: bool, config_path: str | None) -> None:
    """Run the lane supervisor: start every lane, restart the ones that die.

    With --headless it prints one line per lane event until interrupted (Ctrl-C or
    SIGTERM); the lanes keep running in tmux afterwards. Without it, opens the cockpit.
    """
    if not headless:
        from laneboard.commands.cockpit import run_cockpit

        run_cockpit(config_path)
        return
    loaded = load_config_for(config_path)
    if run(_up_headless(loaded)) != 0:
        raise SystemExit(1)


async def _up_headless(loaded: LoadedConfig) -> int:
    """The headless supervisor; 1 when another process already supervises these lanes.

    One `SupervisorLock` per tmux socket and session decides who supervises, so two `up`
    started together never both create the same lanes. Shutdown is bounded: SIGINT/SIGTERM
    (also while lanes are still starting) cancel everything the supervisor runs, the lock
    and the signal handlers are released before the loop ends, and a second signal during
    shutdown is the default one (it ends the process).
    """
    import asyncio
    import contextlib
    import signal

    from laneboard.lanes.published import SupervisorHeld, SupervisorLock
    from laneboard.lanes.supervisor import Supervisor

    sup = Supervisor(loaded)
    lock = SupervisorLock(sup.socket, sup.session)
    try:
        lock.acquire()
    except SupervisorHeld as held:
        who = f"pid {held.pid}" if held.pid else "another process"
        click.echo(
            f"laneboard up: {who} already supervises session {sup.session!r} on tmux socket "
            f"{sup.socket!r}; not starting a second supervisor",
            err=True,
        )
        await sup.close()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)

    async def printer() -> None:
        async for ev in sup.subscribe():
            if type(ev).__name__ == "LaneOutput":
                continue  # pane output belongs in the pane (`tmux attach`), not the log
            fields = {k: v for k, v in ev.__dict__.items() if k != "lane"}
            text = " ".join(f"{k}={str(v)[:120]!r}" for k, v in fields.items())
            click.echo(f"{type(ev).__name__} lane={ev.lane} {text}", nl=True)

    from laneboard.conductor import start_control_server
    from laneboard.errors import LaneboardError

    try:  # the conductor's socket (laneboard mcp); lanes run without it if it cannot open
        control = await start_control_server(sup)
    except (LaneboardError, OSError) as e:
        click.echo(f"laneboard: no conductor socket, so no delegation ({e})", err=True)
        control = None
    printing = asyncio.create_task(printer(), name="up-printer")
    import sys

    from laneboard.lanes.notify import notifier_for, terminal_writer

    # bell/OSC only when stdout is a terminal: never escape sequences into a log file
    notifier = notifier_for(loaded.config, terminal_writer(sys.stdout.fileno()))
    notifying = asyncio.create_task(notifier.run(sup.subscribe()), name="up-notify")
    starting = asyncio.create_task(sup.start(), name="up-start")
    stopping = asyncio.create_task(stop.wait(), name="up-stop")
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and not stopping.done():
            starting.result()  # a bug in start() is raised, not swallowed
            click.echo(
                f"laneboard up: {len(sup.lanes)} lanes on tmux socket {sup.socket!r}, "
                f"session {sup.session!r}"
            )
            await stopping
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)  # a second signal now ends the process
        for task in (starting, stopping):
            task.cancel()
        await asyncio.wait({starting, stopping}, timeout=sup.CLOSE_S)
        if control is not None:
            await control.close()
        await sup.close()
        for task in (printing, notifying):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        lock.release()
        await _settle(sup.CLOSE_S)
    click.echo("laneboard up: detached; lanes keep running (`laneboard lanes stop --all` stops them)")
    return 0


async def _settle(timeout: float) -> None:
    """Cancel whatever still runs and wait for it, bounded.

    `asyncio.run` would cancel leftovers too, but waits for them without a limit; a task
    that cannot finish (one cancelled in the middle of spawning a process) would then hold
    the process up forever with the signal handlers already gone. Here the wait is bounded,
    and a task that still does not finish ends the process the hard way after saying so —
    the lanes live in tmux and the state is saved, so nothing is lost.
    """
    import asyncio
    import os
    import sys

    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for t in left:
        t.cancel()
    if left:
        await asyncio.wait(left, timeout=timeout)
    stuck = [t.get_name() for t in left if not t.done()]
    if stuck:
        print(f"laneboard up: tasks did not stop within {timeout:g}s: {', '.join(stuck)}; exiting", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
