"""The control server: the running supervisor's door for the conductor's tools.

One per supervising process (the cockpit or `laneboard up`), on the private socket of
`protocol.control_socket_path`. Every request names a lane token; the server maps it to
the lane, places the caller in its run (the hop it is working on, if any), checks the
policy (`policy.check_hop`, `check_budget`) and only then runs the hop through the code a
person's prompt goes through: `Supervisor.send` (which redacts and serialises), the
`Router`, `dispatch.triage_on_lane`, `review.run_review`. Nothing here trusts the client.

A hop runs as an asyncio task owned by the server, so `wait: false` returns at once and
`result(run)` reads it later; `cancel(run)` interrupts every lane working on the run.
Each finished hop is written as an artifact (kind `turn`, `extra.run/parent/hop`).
A watcher (the cockpit's run tree) sets `on_change`, called in the loop whenever a hop
opens or ends; it reads `active_runs()` — plain data — and never the live objects.

Why this is long (~620 lines): it is the one object that holds a run's live state (the
hops, who is working on which, the tasks), and every tool handler both reads and changes
that state under the same policy checks. The seams that need none of it already live
apart: the rules (`policy`), the wire (`protocol`), the bookkeeping types (`runs`), the
MCP front end (`mcp_server`). Splitting the handlers off would only hand them this
object's internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket as socketlib
import stat
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from laneboard.conductor import policy
from laneboard.conductor.protocol import (
    MAX_LINE,
    ControlError,
    Refused,
    control_socket_path,
    lane_tokens,
)
from laneboard.conductor.runs import Hop, Run, new_id
from laneboard.errors import LaneboardError
from laneboard.lanes.borrowed import borrowed as lend

if TYPE_CHECKING:
    from laneboard.artifacts import ArtifactStore, Redactor
    from laneboard.artifacts.store import PreparedArtifact
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.supervisor import Supervisor

log = logging.getLogger(__name__)

__all__ = ["ControlServer", "start_control_server"]

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
_DEFAULT_TIMEOUT_S = 600.0
_COMMIT_RULE, _COMMIT_LANE = "commit-message", "commit"
#: A local model's leading reasoning block, which is not part of a commit message.
_THINK = re.compile(r"\A\s*<think>.*?</think>", re.DOTALL)


def _text(params: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = params.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refused("bad-request", f"`{key}` must be a non-empty string")
    return value


class ControlServer:
    """Serves the conductor's tools for one supervisor (see the module docstring)."""

    def __init__(
        self, supervisor: Supervisor, *, limits: policy.Limits | None = None,
        path: Path | None = None,
    ) -> None:  # fmt: skip
        from laneboard.lanes.router import Router

        self.sup = supervisor
        self.cfg = supervisor.cfg
        self.limits = limits or policy.Limits()
        self.router = Router(self.cfg)
        self.path = path or control_socket_path(supervisor.socket, supervisor.session)
        self._tokens = lane_tokens(list(self.cfg.lanes), supervisor.session)
        self.runs: dict[str, Run] = {}
        self.hops: dict[str, Hop] = {}
        self._active: dict[str, str] = {}  # lane -> the hop it works on
        self._server: asyncio.AbstractServer | None = None
        self._writing: set[asyncio.Task[None]] = set()  # artifacts written after replying
        self._artifact_store: ArtifactStore | None = None
        self._redactor_obj: Redactor | None = None
        self.on_change: Callable[[], None] | None = None
        """Called (in the loop) whenever a hop opens or ends; see `active_runs`."""
        self._handlers: dict[str, Handler] = {
            "lanes": self._lanes, "route": self._route, "delegate": self._delegate,
            "review": self._review, "triage": self._triage,
            "commit_message": self._commit_message, "result": self._result,
            "cancel": self._cancel,
        }

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Listen (0600). A live socket at the path is another supervisor's: ControlError."""
        if self.path.exists() or self.path.is_symlink():
            st = os.lstat(self.path)
            if not stat.S_ISSOCK(st.st_mode):
                raise ControlError(f"{self.path} exists and is not a socket; remove it")
            probe = socketlib.socket(socketlib.AF_UNIX)
            try:
                probe.connect(str(self.path))
            except OSError:
                self.path.unlink()  # a dead supervisor's leftover
            else:
                raise ControlError(f"another supervisor already listens on {self.path}")
            finally:
                probe.close()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._client, str(self.path), limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self.sup.conductor = self.attachments()

    def attachments(self) -> dict[str, tuple[str, str]]:
        """lane → (socket, token) for every lane allowed to delegate: the lanes the
        supervisor gives laneboard's MCP server (`Supervisor.conductor`). A lane no rule
        lets delegate gets no server at all, so it never even sees the tools."""
        by_lane = {lane: token for token, lane in self._tokens.items()}
        return {lane: (str(self.path), by_lane[lane]) for lane in self.cfg.lanes
                if policy.allowed_delegates(self.cfg, lane)}

    async def close(self) -> None:
        """Stop listening, cancel hops still running, remove the socket."""
        self.sup.conductor = {}
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        tasks = [h.task_handle for h in self.hops.values()
                 if h.task_handle is not None and not h.task_handle.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self.sup.CLOSE_S)
        if self._writing:  # artifacts of hops already answered: never lost on quit
            await asyncio.wait(set(self._writing), timeout=self.sup.CLOSE_S)
        if self._artifact_store is not None:
            self._artifact_store.close()
            self._artifact_store = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # ------------------------------------------------------------------ wire

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    raw = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await self._reply(writer, None, error=("bad-request", "request line too long"))
                    return
                if not raw:
                    return
                await self._reply(writer, *await self._answer(raw))
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self, raw: bytes
    ) -> tuple[object, dict[str, Any] | None, tuple[str, str] | None]:
        try:
            req = json.loads(raw)
        except ValueError:
            return None, None, ("bad-request", "the request is not JSON")
        if not isinstance(req, dict):
            return None, None, ("bad-request", "the request is not a JSON object")
        rid = req.get("id")
        caller = self._caller(req.get("token"))
        if caller is None:
            return rid, None, ("lane-token", "no valid LANEBOARD_LANE_TOKEN: only a lane "
                               "laneboard attached its MCP server to may call")
        handler = self._handlers.get(str(req.get("method")))
        params = req.get("params") or {}
        if handler is None or not isinstance(params, dict):
            return rid, None, ("bad-request", f"unknown method {req.get('method')!r} or params "
                               f"not an object (methods: {', '.join(self._handlers)})")
        try:
            return rid, await handler(caller, params), None
        except Refused as e:
            return rid, None, (e.rule, e.detail)
        except LaneboardError as e:
            return rid, None, ("lane-error", str(e))

    async def _reply(
        self, writer: asyncio.StreamWriter, rid: object, result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:  # fmt: skip
        doc: dict[str, Any] = {"id": rid, "ok": error is None}
        if error is None:
            doc["result"] = result
        else:
            doc["error"] = {"rule": error[0], "message": error[1]}
        writer.write(json.dumps(doc, default=str).encode() + b"\n")
        await writer.drain()

    def _caller(self, token: object) -> str | None:
        import hmac

        if not isinstance(token, str):
            return None
        found = None
        for known, lane in self._tokens.items():  # constant time per comparison
            if hmac.compare_digest(known, token):
                found = lane
        return found

    # ------------------------------------------------------------------ places in runs

    def _position(self, caller: str) -> tuple[policy.Position, Hop | None]:
        hop_id = self._active.get(caller)
        hop = self.hops.get(hop_id) if hop_id else None
        if hop is None or hop.state != "running":
            return policy.Position((caller,), 0, False), None
        return policy.Position(hop.chain, hop.depth, hop.untrusted), hop

    def _open_hop(
        self, caller: str, target: str, tool: str, task: str, *, untrusted: bool = False,
        rule: str = "", reason: str = "",
    ) -> Hop:  # fmt: skip
        """Check the policy and record a new running hop (or raise Refused)."""
        received = time.time()
        pos, parent = self._position(caller)
        if untrusted:
            pos = policy.Position(pos.chain, pos.depth, True)
        tainted = policy.check_hop(self.cfg, self.router, caller, target, task, pos,
                                   self.limits, tool=tool)
        run = self.runs.get(parent.run) if parent is not None else None
        if run is None:
            run = Run(new_id(), caller)
            self.runs[run.id] = run
        policy.check_budget(run.turns, run.tokens, self.limits)
        if target in self._active and self.hops[self._active[target]].state == "running":
            busy = self.hops[self._active[target]]
            if busy.run != run.id:
                raise Refused("lane-busy", f"{target!r} is working on run {busy.run[:8]}")
        run.turns += 1
        hop = Hop(new_id(), run.id, parent.id if parent else None, caller, target, tool,
                  self._redact(task), rule or f"conductor:{tool}",
                  reason or f"{caller} asked through laneboard's {tool} tool",
                  pos.depth + 1, (*pos.chain, target), tainted)
        hop.timing["received"] = received
        self.hops[hop.id] = hop
        run.hops.append(hop.id)
        self._active[target] = hop.id
        self._changed()
        return hop

    def _changed(self) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change()
        except Exception:  # a watcher's bug never fails a delegation
            log.exception("the conductor's change watcher failed")

    def active_runs(self) -> list[dict[str, Any]]:
        """Runs with a hop still running, oldest first, as plain data: {"run", "root",
        "started", "turns", "tokens", "hops": [Hop.as_dict(), …]} (hops in order)."""
        out = []
        for run in sorted(self.runs.values(), key=lambda r: r.started):
            hops = [self.hops[h] for h in run.hops]
            if not any(h.state == "running" for h in hops):
                continue
            out.append({"run": run.id, "root": run.root, "started": run.started,
                        "turns": run.turns, "tokens": run.tokens,
                        "hops": [h.as_dict() for h in hops]})
        return out

    def _redact(self, text: str) -> str:
        if not self.cfg.artifacts.redaction:
            return text
        return self._redactor().redact(text).text

    def _route_dict(self, hop: Hop) -> dict[str, object]:
        return {"lane": hop.lane, "rule": hop.rule, "reason": hop.reason,
                "fence": self.cfg.lanes[hop.lane].fence, "escalate": hop.tool == "review",
                "run": hop.run, "parent": hop.parent, "caller": hop.caller}

    async def _finish(self, hop: Hop, turn: TurnResult | None, error: str | None = None) -> None:
        """Close a hop: state, usage into the run's budget, its artifact.

        The artifact is rendered (redacted; that names its file) before the reply, and
        written — fsyncs, the index — in a task after it: those took half of the "out"
        leg (benchmarks/conductor_bench.py). The file appears moments after the answer;
        `close()` waits for every write still pending."""
        if turn is not None:
            hop.state, hop.answer, hop.model = turn.state, turn.reply, turn.model
            hop.error = turn.error
            hop.usage = turn.usage.as_dict()
            hop.timing["turn_finished"] = turn.finished
            run = self.runs[hop.run]
            run.tokens += turn.usage.input_tokens + turn.usage.output_tokens
        else:
            hop.state, hop.error = "failed", error
        if hop.cancelled:  # a person's cancel, even when the interrupted turn ended "done"
            hop.state, hop.error = "interrupted", "cancelled by a person"
        if self._active.get(hop.lane) == hop.id:
            del self._active[hop.lane]
        self._changed()
        try:
            prepared = await self._prepare_artifact(hop, turn)
        except LaneboardError as e:
            log.warning("could not write the artifact of hop %s: %s", hop.id, e)
        else:
            hop.artifact = str(prepared.directory / prepared.name)
            writing = asyncio.create_task(self._write_artifact(hop, prepared),
                                          name=f"conductor-artifact-{hop.id[:8]}")
            self._writing.add(writing)
            writing.add_done_callback(self._writing.discard)
        hop.timing["returned"] = time.time()

    async def _write_artifact(self, hop: Hop, prepared: PreparedArtifact) -> None:
        try:
            await self._store().write_prepared(prepared)
        except LaneboardError as e:
            log.warning("could not write the artifact of hop %s: %s", hop.id, e)
            hop.artifact = None

    def _store(self) -> ArtifactStore:
        """One store (and SQLite index) for the server's life: opening and closing one
        per hop cost ~15 ms of every delegation."""
        if self._artifact_store is None:
            from laneboard.artifacts import ArtifactStore
            from laneboard.lanes.redaction import artifacts_root

            self._artifact_store = ArtifactStore(
                artifacts_root(self.cfg, self.sup.workspace), redactor=self._redactor(),
                max_prompt_bytes=self.cfg.artifacts.max_prompt_bytes)
        return self._artifact_store

    def _redactor(self) -> Redactor:
        """One redactor for the server's life: a fresh one pays detect-secrets' set-up on
        its first text (~25 ms, measured), which every hop paid twice."""
        if self._redactor_obj is None:
            from laneboard.lanes.redaction import make_redactor

            self._redactor_obj = make_redactor(self.cfg)
        return self._redactor_obj

    async def _prepare_artifact(self, hop: Hop, turn: TurnResult | None) -> PreparedArtifact:
        from laneboard.artifacts import ArtifactRecord

        elapsed = round(time.time() - hop.timing["received"], 3)
        extra = {"run": hop.run, "parent": hop.parent, "hop": hop.id, "caller": hop.caller,
                 "tool": hop.tool, "depth": hop.depth, "untrusted": hop.untrusted,
                 "elapsed_s": elapsed, **{k: v for k, v in hop.result.items()
                                          if isinstance(v, (str, int, float, bool))}}
        title = f"{hop.caller} → {hop.lane}: {hop.tool}"
        harness = self.cfg.lanes[hop.lane].harness
        if turn is not None:
            record = ArtifactRecord.from_turn(turn, kind="turn", lane=hop.lane, prompt=hop.task,
                                              harness=harness, route=self._route_dict(hop),
                                              title=title, extra=extra)
        else:
            record = ArtifactRecord(kind="turn", lane=hop.lane, prompt=hop.task, answer="",
                                    harness=harness, state="failed", route=self._route_dict(hop),
                                    started=hop.timing["received"], error=hop.error,
                                    title=title, extra=extra)
        return await asyncio.to_thread(self._store().prepare, record)

    async def _run(self, hop: Hop, work: Callable[[], Awaitable[TurnResult | None]],
                   wait: bool, timeout: float) -> dict[str, Any]:
        """Run `work` as the server's task; wait for it (bounded) or return the run id."""

        async def go() -> None:
            try:
                turn = await work()
            except asyncio.CancelledError:
                hop.cancelled = True
                await asyncio.shield(self._finish(hop, None, "cancelled"))
                raise
            except LaneboardError as e:
                await asyncio.shield(self._finish(hop, None, str(e)))
                return
            # Shielded: a cancel arriving while the hop is being closed must not lose its
            # artifact (the turn is over; only the record is left to write).
            await asyncio.shield(self._finish(hop, turn, None if turn is not None else hop.error))

        hop.task_handle = asyncio.create_task(go(), name=f"conductor-hop-{hop.id[:8]}")
        if not wait:
            return {"run": hop.run, "hop": hop.id, "lane": hop.lane, "state": "running"}
        done, _ = await asyncio.wait({hop.task_handle}, timeout=timeout)
        if not done:
            return {"run": hop.run, "hop": hop.id, "lane": hop.lane, "state": "running",
                    "note": f"still running after {timeout:g}s; ask result(run)"}
        return self._hop_result(hop)

    def _hop_result(self, hop: Hop) -> dict[str, Any]:
        return {"run": hop.run, "hop": hop.id, "lane": hop.lane, "rule": hop.rule,
                "state": hop.state, "answer": hop.answer, "error": hop.error,
                "model": hop.model, "artifact": hop.artifact, "usage": hop.usage, **hop.result}

    def _send(self, hop: Hop, timeout: float) -> Callable[[], Awaitable[TurnResult | None]]:
        async def work() -> TurnResult:
            started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            started.add_done_callback(lambda _f: hop.timing.setdefault("turn_started", time.time()))
            hop.timing["sent"] = time.time()
            return await self.sup.send(hop.lane, hop.task, timeout=timeout,
                                       route=self._route_dict(hop), started=started)
        return work

    # ------------------------------------------------------------------ tools

    async def _lanes(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        rows = []
        for row in self.sup.status():
            lane = self.cfg.lanes[str(row["id"])]
            rows.append({k: row.get(k) for k in ("id", "role", "model", "tier", "fence",
                                                  "input", "state")}
                        | {"for": lane.description or f"{lane.role} ({lane.harness})"})
        return {"lanes": rows, "you": caller,
                "delegates": policy.allowed_delegates(self.cfg, caller)}

    async def _route(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        from laneboard.errors import RouteRefused

        task = cast(str, _text(params, "task"))
        untrusted = bool(params.get("untrusted")) or self.cfg.lanes[caller].input == "untrusted"
        try:
            decision = self.router.route(task, untrusted=untrusted)
        except RouteRefused as e:
            raise Refused("untrusted-input", str(e)) from None
        doc = decision.as_dict()
        doc.pop("prompt", None)
        pos, _ = self._position(caller)
        try:
            policy.check_hop(self.cfg, self.router, caller, decision.lane, task,
                             policy.Position(pos.chain, pos.depth, pos.untrusted or untrusted),
                             self.limits, tool="delegate")
            doc["allowed"], doc["refused_by"] = True, None
        except Refused as e:
            doc["allowed"], doc["refused_by"], doc["refusal"] = False, e.rule, e.detail
        return doc

    async def _delegate(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        from laneboard.errors import RouteRefused

        task = cast(str, _text(params, "task"))
        lane = _text(params, "lane", required=False)
        untrusted = bool(params.get("untrusted"))
        timeout = float(params.get("timeout_s") or _DEFAULT_TIMEOUT_S)
        rule, reason = "", ""
        if lane is None:
            taint = untrusted or self.cfg.lanes[caller].input == "untrusted"
            try:
                decision = self.router.route(task, untrusted=taint)
            except RouteRefused as e:
                raise Refused("untrusted-input", str(e)) from None
            lane, rule, reason = decision.lane, f"conductor:route:{decision.rule}", decision.reason
            task = decision.prompt
        hop = self._open_hop(caller, lane, "delegate", task, untrusted=untrusted, rule=rule,
                             reason=reason)
        return await self._run(hop, self._send(hop, timeout), params.get("wait", True) is not False,
                               timeout)

    async def _review(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        from laneboard.lanes.review import pick_review_lane, run_review

        base = _text(params, "base", required=False)
        focus = _text(params, "focus", required=False)
        lane = pick_review_lane(self.cfg, None)
        hop = self._open_hop(caller, lane, "review", f"review {base or 'the default base'}"
                             + (f", focus: {focus}" if focus else ""))
        timeout = float(params.get("timeout_s") or _DEFAULT_TIMEOUT_S)
        lent = lend(self.sup)

        async def work() -> TurnResult | None:
            from laneboard.harnesses.base import TurnResult, Usage

            hop.timing["sent"] = time.time()
            res = await run_review(self.sup.loaded, cwd=self.sup.workspace, base=base,
                                   lane=lane, timeout_s=timeout,
                                   supervisor_factory=lambda _l, _w: lent)
            hop.result = {"findings": res.findings, "severities": res.severities,
                          "review_artifact": str(res.artifact.path) if res.artifact else None,
                          "tree_unchanged": res.tree_unchanged}
            usage = Usage(**{k: v for k, v in ((res.artifact.usage or {}) if res.artifact
                                               else {}).items() if k in Usage.__dataclass_fields__})
            return TurnResult(reply=res.reply, state=cast(Any, res.state) if res.state in (
                "done", "failed", "timed-out", "interrupted") else "done", usage=usage,
                error=res.error, model=res.model, started=hop.timing["sent"])

        return await self._run(hop, work, True, timeout)

    async def _triage(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        from laneboard.harnesses.base import TurnResult
        from laneboard.lanes.dispatch import triage_on_lane

        text = cast(str, _text(params, "text"))
        tcfg = self.cfg.routing.triage if self.cfg.routing else None
        if tcfg is None:
            raise Refused("no-triage-lane", "routing.triage is not configured")
        hop = self._open_hop(caller, tcfg.lane, "triage", text)

        async def work() -> TurnResult | None:
            hop.timing["sent"] = time.time()
            outcome = await triage_on_lane(self.sup, text)
            hop.result = {"verdict": outcome.verdict.verdict, "reason": outcome.verdict.reason}
            last = outcome.turns[-1] if outcome.turns else None
            return last or TurnResult(reply="", state="failed", error=outcome.verdict.reason)

        return await self._run(hop, work, True, tcfg.timeout_s + 30)

    def _commit_lane(self) -> str:
        rules = self.cfg.routing.rules if self.cfg.routing else []
        rule = next((r for r in rules if r.name == _COMMIT_RULE), None)
        lane = rule.lane if rule is not None else _COMMIT_LANE
        if lane not in self.cfg.lanes:
            raise Refused("no-commit-lane", f"no routing rule {_COMMIT_RULE!r} and no lane "
                          f"named {_COMMIT_LANE!r}")
        return lane

    async def _commit_message(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        diff = _text(params, "diff", required=False)
        if diff is None:
            proc = await asyncio.to_thread(
                subprocess.run, ["git", "diff", "--cached", "--no-color"], cwd=self.sup.workspace,
                capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise Refused("bad-request", f"git diff --cached failed: {proc.stderr.strip()}")
            diff = proc.stdout
        if not diff.strip():
            raise Refused("bad-request", "nothing staged and no `diff` given")
        prompt = ("Write a git commit message (Conventional Commits; first line at most 72 "
                  "characters, imperative) for this diff. Output only the message.\n\n"
                  + diff[:60_000])
        hop = self._open_hop(caller, self._commit_lane(), "commit_message", prompt)
        out = await self._run(hop, self._send(hop, 300.0), True, 300.0)
        out["message"] = _THINK.sub("", out.get("answer") or "", count=1).strip()
        return out

    async def _result(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        run_id = cast(str, _text(params, "run"))
        run = self.runs.get(run_id) or next(
            (r for k, r in self.runs.items() if len(run_id) >= 6 and k.startswith(run_id)), None)
        if run is None:
            raise Refused("unknown-run", f"no run {run_id!r} in this supervisor")
        hops = [self.hops[h] for h in run.hops]
        root = hops[0]
        return {"run": run.id, "state": root.state, "answer": root.answer, "lane": root.lane,
                "hops": [self._hop_result(h) | {"parent": h.parent, "caller": h.caller}
                         for h in hops], "turns": run.turns, "tokens": run.tokens}

    async def _cancel(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        run_id = cast(str, _text(params, "run"))
        run = self.runs.get(run_id)
        if run is None or run.root != caller:
            raise Refused("unknown-run", f"no run {run_id!r} started by {caller!r}")
        return {"run": run_id, "cancelled": await self.cancel_run(run_id)}

    async def cancel_run(self, run_id: str) -> list[str]:
        """Interrupt every lane working on the run (a person's cancel; the cockpit calls
        this); returns the lanes interrupted."""
        run = self.runs.get(run_id)
        lanes: list[str] = []
        for hop in [self.hops[h] for h in run.hops] if run else []:
            if hop.state != "running":
                continue
            hop.cancelled = True  # first: the interrupted turn may end "done" meanwhile
            rt = self.sup.lanes.get(hop.lane)
            if rt is not None and rt.harness is not None:
                with contextlib.suppress(LaneboardError, OSError):
                    await rt.harness.interrupt()
            if hop.task_handle is not None and hop.state == "running":
                hop.task_handle.cancel()
            lanes.append(hop.lane)
        return lanes


async def start_control_server(
    supervisor: Supervisor, *, limits: policy.Limits | None = None, path: Path | None = None,
) -> ControlServer:  # fmt: skip
    """Start the conductor's control server for a running supervisor (call `.close()` when
    the supervisor closes)."""
    server = ControlServer(supervisor, limits=limits, path=path)
    await server.start()
    return server
