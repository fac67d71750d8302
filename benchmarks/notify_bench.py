"""Notification latency from a REAL `waiting` state (issue 18): a permission dialog of the
pinned Claude Code on a lane → the cockpit's bell on its terminal.

Why its own module: `scale_bench`'s notification figure had to use a lane that FAILS
(command lanes never enter `waiting`; only a claude/codex screen classifies as a dialog).
Here the lane is the real `claude` 2.1.328 (from `.cache/npm`, else PATH) in an isolated
HOME / CLAUDE_CONFIG_DIR, talking to the Anthropic stand-in (`laneboard.standins`) through
laneboard's config `base_url`. The stand-in answers every prompt that names a repetition
with a `Bash` tool call (`curl -s http://127.0.0.1:9/notify-bench-<n>`) — a workspace-write
lane's permission mode does not pre-allow it, so Claude Code draws its "Do you want to
proceed?" dialog and laneboard's deny list does not match it, so laneboard leaves the lane
`waiting` for a person. Nobody says yes: the dialog is never approved and the command never
runs (port 9 is discard anyway).

The cockpit (`laneboard --config CFG`) runs on a 160×50 pty (`benchlib.PtyApp`) with
`notifications: {desktop: false, debounce_s: 0}`. Per repetition:

- t_pane — the dialog is on the lane's pane: a control-mode client of the benchmark's own
  (`tmux -C attach -f ignore-size` to the lane's session on the private socket, `PaneWatch`)
  asks `capture-pane -p` after every burst of the pane's `%output` and matches the screen
  with laneboard's own classifier (`claude.screen.classify` → `waiting-permission`) plus
  this repetition's URL. t_pane is the FIRST `%output` line of the pane read after the
  last capture that did not show the dialog was asked — the earliest moment the dialog
  could have been complete, so the latency is, if anything, overstated.
- t_bell — the cockpit wrote `OSC 9` + `OSC 777 'laneboard: bench needs you'` + BEL to its
  terminal: the pty reader's timestamp of the chunk that ended with the BEL.
- `notification_latency_ms` = t_bell − t_pane (p50/p95 over the repetitions).
- reference: `reference_detect_ms` = t_ref − t_pane, where t_ref is when the same bare
  control-mode reader's capture matched: what detecting the dialog costs with no rate
  limit, no supervisor, no Textual — the floor a notifier watching tmux could reach.

Two ways a turn starts (`--via`):

- `pane`: the benchmark types the prompt into the lane's pane (`tmux send-keys`), as a person
  attached to it would: laneboard drives no turn, so `lanes.screen_watch` is what sees the
  dialog (capture after output, at most every 0.25 s) → `waiting`.
- `cockpit`: the benchmark types `@bench <prompt>` + Enter into the cockpit's prompt bar:
  laneboard's harness drives the turn and its own screen loop sees the dialog
  (`refuse_or_wait` → `waiting`).

After each repetition the benchmark — the person, not laneboard — sends Escape to the pane
(`tmux send-keys`), waits for Claude Code's input box, and starts the next turn. `--lanes 1,8`
runs it with the claude lane alone and beside 7 idle command lanes (`cockpit_bench.LANE`,
silent), i.e. scale_bench's 8-lane cockpit.

    python benchmarks/notify_bench.py [--quick] [--lanes 1,8] [--via pane[,cockpit]] [--reps N]

`--via cockpit` is opt-in: the cockpit's sends to the claude lane did not reliably reach
it in this benchmark (no request, or a prompt with its head cut off; docs/perf/notify.md).

Prints the figures and writes benchmarks/results/notify_bench.json (`--quick`: 3
repetitions per case instead of 12).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

import cockpit_bench  # noqa: E402
from benchlib import (  # noqa: E402
    ROOT,
    MarkerScanner,
    PtyApp,
    Tmux,
    laneboard_argv,
    laneboard_env,
    percentile,
    pty_app,
    rounded,
    socket_name,
    summary,
    wait_until,
)

from laneboard.core.procs import pid_alive  # noqa: E402
from laneboard.demo import find_clis  # noqa: E402
from laneboard.harnesses.claude.launch import seed_isolated_config  # noqa: E402
from laneboard.harnesses.claude.screen import classify  # noqa: E402
from laneboard.lanes import published  # noqa: E402
from laneboard.standins import Reply, StandinServer  # noqa: E402
from laneboard.standins.recorded import RecordedRequest  # noqa: E402

SIZE = (160, 50)
LANE = "bench"
RESULTS = HERE / "results" / "notify_bench.json"
TITLE = "laneboard \u00b7 lb-".encode()
"""The start of the main screen's title (`laneboard · lb-<workspace>`): the first frame."""
GOAL_MS = 500.0
TURN = "notify-bench-turn-{n}"
_TURN_RE = re.compile(r"turn-(\d+) check")
"""Matched on the prompt's tail: laneboard's cockpit sends were seen to arrive with their
head cut off (noted per repetition as `truncated`), and the dialog is still wanted then."""
_NOTICE = re.compile(rb"\x1b\]777;notify;laneboard: ([^ ;\x07]+) ([^;\x07]*);[^\x07]*\x07")
"""Every OSC 777 notice the cockpit writes: (lane, title). The bell follows a notice."""


def url_of(n: int) -> str:
    """The URL the repetition's tool call names: unique, so its dialog is told apart."""
    return f"http://127.0.0.1:9/notify-bench-{n}"


def bench_reply(request: RecordedRequest) -> Reply:
    """A prompt naming repetition n gets a Bash tool call Claude Code must ask about;
    anything else (Claude Code's own side requests) gets a short text."""
    turns = [int(x) for x in _TURN_RE.findall(request.prompt or "")]
    if request.dialect == "anthropic" and turns:
        n = max(turns)
        return Reply.tool_call(
            "Bash",
            {"command": f"curl -s {url_of(n)}", "description": f"Fetch notify bench {n}"},
            call_id=f"toolu_notify_bench_{n:04d}",
        )
    return Reply.text("notify bench: nothing to do.")


# -- the reference reader: a bare control-mode client --------------------------------------


@dataclass
class Hit:
    first_ns: int  # the first %output read after the last capture that did not match
    match_ns: int  # the matching capture's %end read


class PaneWatch:
    """The benchmark's own control-mode client of the lane's session: a `capture-pane`
    after every burst of the pane's `%output` (one capture in flight at a time; output
    arriving meanwhile asks for one more), matched against the expected dialog."""

    def __init__(self, tmux: Tmux, session: str, pane: str) -> None:
        self.pane = pane
        self._out_prefix = f"%output {pane} ".encode()
        self._proc = subprocess.Popen(
            [*tmux.argv, "-C", "attach-session", "-f", "ignore-size", "-t", f"={session}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._lock = threading.Lock()
        self._needle: str | None = None
        self.hit: Hit | None = None
        self._pending: list[int | None] = []  # per command in flight: its first-output ns
        self._dirty_since: int | None = None
        self._in_block: list[bytes] | None = None
        self.last_screen = ""
        self.captures = 0
        self._thread = threading.Thread(target=self._read, args=(self._proc.stdout,),
                                         name="pane-watch", daemon=True)
        self._thread.start()

    def expect(self, needle: str) -> None:
        """Look for a dialog naming `needle` from now on (and ask for a capture at once,
        so a dialog already up is seen)."""
        with self._lock:
            self._needle, self.hit = needle, None
            self._ask(time.monotonic_ns())

    def _ask(self, first_ns: int | None) -> None:
        self._pending.append(first_ns)
        self._stdin.write(f"capture-pane -p -t {self.pane}\n".encode())
        self._stdin.flush()

    def _read(self, out: IO[bytes]) -> None:
        for line in out:
            now = time.monotonic_ns()
            with self._lock:
                if self._in_block is not None:
                    if line.startswith((b"%end ", b"%error ")):
                        self._answered(now, self._in_block)
                        self._in_block = None
                    else:
                        self._in_block.append(line)
                elif line.startswith(b"%begin "):
                    self._in_block = []
                elif line.startswith(self._out_prefix):
                    if not self._pending:
                        self._ask(now)
                    elif self._dirty_since is None:
                        self._dirty_since = now

    def _answered(self, now: int, block: list[bytes]) -> None:
        if not self._pending:
            return  # the attach command's own (empty) answer
        first = self._pending.pop(0)
        self.captures += 1
        text = b"".join(block).decode("utf-8", "replace")
        self.last_screen = text
        needle = self._needle
        if (needle is not None and self.hit is None and needle in text
                and classify(text).state == "waiting-permission"):
            self.hit = Hit(first if first is not None else now, now)
        if self._dirty_since is not None and not self._pending:
            since, self._dirty_since = self._dirty_since, None
            self._ask(since)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()
        try:
            self._proc.wait(3)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._thread.join(2)


# -- the cockpit session -------------------------------------------------------------------


@dataclass
class Sample:
    notify_ms: float
    reference_ms: float


@dataclass
class Case:
    lanes: int
    via: str
    samples: list[Sample] = field(default_factory=list)
    lost: int = 0
    notes: list[str] = field(default_factory=list)


def _config(tmp: Path, url: str, lanes: int, work: Path) -> Path:
    home = tmp / "home"
    claude_dir = home / ".claude-bench"
    seed_isolated_config(claude_dir, work)
    env = (f"{{HOME: {home}, CLAUDE_CONFIG_DIR: {claude_dir}, ANTHROPIC_AUTH_TOKEN: bench, "
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', CLAUDE_CODE_MAX_RETRIES: '1'}")
    script = tmp / "lane.py"
    script.write_text(cockpit_bench.LANE)
    idle = "".join(
        f"  idle{i}: {{role: helper, harness: command, restart: {{policy: never}}, "
        f"command: {json.dumps([sys.executable, '-u', str(script), str(i)])}}}\n"
        for i in range(1, lanes)
    )
    cfg = tmp / f"notify{lanes}.yaml"
    cfg.write_text(
        "version: 1\n"
        f'providers:\n  anthropic: {{harness: claude-code, base_url: "{url}"}}\n'
        "models:\n  anthropic/claude-standin-1: {alias: standin, tier: escalation, "
        "context_window: 200000}\n"
        "lanes:\n"
        f"  {LANE}:\n    role: coder\n    harness: claude-code\n    mode: interactive\n"
        "    model: standin\n    fallbacks: []\n    fence: workspace-write\n"
        f"    worktree: false\n    env: {env}\n"
        f"{idle}"
        "notifications: {desktop: false, debounce_s: 0}\n"
    )
    return cfg


def _claude_ready(tmux: Tmux, pane: str) -> bool:
    return classify(tmux.run("capture-pane", "-p", "-t", pane, check=False)).state == "ready"


def _session_of(tmux: Tmux, pane: str) -> str:
    return tmux.run("display-message", "-p", "-t", pane, "#{session_name}").strip()


@dataclass
class Cockpit:
    app: PtyApp
    tmux: Tmux
    pane: str
    state: Path  # the cockpit's LANEBOARD_STATE_DIR

    def lane_state(self) -> str | None:
        """The claude lane's state as the cockpit's supervisor last published it (a file
        read: `laneboard lanes status` would start a second supervisor beside it)."""
        session = _session_of(self.tmux, self.pane)
        got = published.read_all(self.tmux.socket, session, root=self.state).get(LANE)
        return None if got is None else got.state


@contextlib.contextmanager
def cockpit(tmp: Path, url: str, lanes: int) -> Iterator[Cockpit]:
    """A cockpit on a pty with the claude lane (and `lanes - 1` idle command lanes) up."""
    work = tmp / "work"
    work.mkdir()
    cfg = _config(tmp, url, lanes, work)
    tmux = Tmux(socket_name(f"notify{lanes}"))
    claude_pid = 0
    clis = find_clis()
    claude = clis.get("claude")
    if claude is None:
        raise RuntimeError("no claude binary (on PATH or in .cache/npm): run scripts/test.sh")
    path = os.pathsep.join([str(Path(claude).parent), os.environ.get("PATH", "")])
    env = laneboard_env(tmp / "state", tmux.socket, PATH=path)
    try:
        with pty_app([*laneboard_argv(), "--config", str(cfg)], env, work, SIZE) as app:
            if app.wait_for(TITLE, 60.0) is None:
                tail = bytes(app._data[-2000:]).decode("utf-8", "replace")
                raise RuntimeError(f"the cockpit did not paint its first frame within 60 s: "
                                   f"{tail!r}")

            def lanes_up() -> str | None:
                panes = tmux.lane_panes()
                if len(panes) < lanes or LANE not in panes:
                    return None
                return panes[LANE] if _claude_ready(tmux, panes[LANE]) else None

            pane = wait_until(lanes_up, 180.0, "claude ready and every lane in tmux",
                              interval=0.3)
            app.wait_settled(quiet_bytes=4096, window=1.0, timeout=60.0)
            claude_pid = int(tmux.run("display-message", "-p", "-t", pane, "#{pane_pid}"))
            yield Cockpit(app, tmux, pane, tmp / "state")
            if not app.alive:
                raise RuntimeError("the cockpit exited during the session")
    finally:
        tmux.kill()
        # claude writes its config dir while it exits: let it finish before tmp goes
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not pid_alive(claude_pid), 10.0, "claude exited")


def _start_turn_in_pane(tmux: Tmux, pane: str, server: StandinServer, prompt: str) -> None:
    """Type the prompt into Claude Code's input box, as a person attached to the pane would,
    and press Enter once the text is on the screen (again if the request did not come)."""
    before = len(server.calls("anthropic"))
    tmux.run("send-keys", "-t", pane, "-l", "--", prompt)
    wait_until(lambda: prompt in tmux.run("capture-pane", "-p", "-t", pane, check=False),
               30.0, "the prompt typed into claude's input box")
    for _ in range(3):
        tmux.run("send-keys", "-t", pane, "Enter")
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: len(server.calls("anthropic")) > before, 15.0,
                       "claude's request for the typed prompt")
            return
    raise TimeoutError("claude sent no request for the prompt typed into its pane")


def _start_turn_in_cockpit(app: PtyApp, server: StandinServer, prompt: str) -> int:
    """`@bench <prompt>` + Enter in the cockpit's prompt bar (focused at start), again if
    no request came: a cockpit still starting its lanes puts the text back unsent.

    (`laneboard lanes status` is not used to wait for the lane: run beside the cockpit, it
    was seen to leave the cockpit's next send to that lane hanging — see docs/perf/notify.md.)
    """
    before = len(server.calls("anthropic"))
    text = f"@{LANE} {prompt}".encode()
    for tries in range(1, 4):
        app.write(b"\x15")  # ctrl+u: an empty prompt field first
        app.write(text)
        app.wait_settled(quiet_bytes=4096, window=0.5, timeout=10.0)  # a person reads it
        app.write(b"\r")
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: len(server.calls("anthropic")) > before, 30.0,
                       "claude's request for the prompt sent from the cockpit")
            return tries
    raise TimeoutError("claude sent no request for the prompt sent from the cockpit")


def _grew(items: list[int], count: int) -> bool:
    return len(items) > count


def _repetition(cp: Cockpit, server: StandinServer, watch: PaneWatch, via: str, n: int,
                bells: list[int], ends: list[int], case: Case) -> str:
    """One turn: start it, time the dialog → bell, then dismiss the dialog as a person
    would. Returns what to print; raises TimeoutError when the session is stuck."""
    app, tmux, pane = cp.app, cp.tmux, cp.pane
    watch.expect(url_of(n))
    mark, ended = len(bells), len(ends)
    prompt = f"Please run the {TURN.format(n=n)} check."
    if via == "pane":
        _start_turn_in_pane(tmux, pane, server, prompt)
    else:
        # the cockpit sends to a lane its supervisor holds `ready` (not still starting,
        # not still ending the last turn)
        wait_until(lambda: cp.lane_state() == "ready", 60.0, f"{LANE} published ready",
                   interval=0.05)
        if (tries := _start_turn_in_cockpit(app, server, prompt)) > 1:
            case.notes.append(f"rep {n}: the cockpit sent the prompt on try {tries}")
    out = ""
    asked = [c.prompt or "" for c in server.calls("anthropic")]
    mine = [a for a in asked if f"turn-{n} check" in a]
    if mine and prompt not in mine[-1]:
        case.notes.append(f"rep {n}: truncated: sent {prompt!r}, claude asked with "
                          f"{mine[-1][-80:]!r}")
    try:
        wait_until(lambda: watch.hit is not None, 60.0, f"dialog {n} on the pane",
                   interval=0.02)
        wait_until(partial(_grew, bells, mark), 10.0, f"bell for {n}", interval=0.02)
    except TimeoutError as e:
        case.lost += 1
        asked = [(c.prompt or "")[-160:] for c in server.calls("anthropic")[-3:]]
        case.notes.append(f"rep {n}: {e}; screen: {watch.last_screen[-400:]!r}; "
                          f"the stand-in's last prompts: {asked!r}")
        out = f"lost ({e})"
    else:
        hit = watch.hit
        assert hit is not None
        bell = bells[mark]  # the first "needs you" of this repetition
        sample = Sample((bell - hit.first_ns) / 1e6, (hit.match_ns - hit.first_ns) / 1e6)
        case.samples.append(sample)
        out = f"{sample.notify_ms:.1f} ms (reference {sample.reference_ms:.1f} ms)"
    # the person dismisses the dialog; laneboard never answers it
    tmux.run("send-keys", "-t", pane, "Escape")
    wait_until(lambda: _claude_ready(tmux, pane), 60.0,
               f"claude's input box back after dismissing dialog {n}", interval=0.1)
    if via == "cockpit":  # laneboard's turn ends (interrupted) before the next is sent
        wait_until(partial(_grew, ends, ended), 60.0, f"laneboard's turn {n} ended",
                   interval=0.05)
    return out


def run_case(server: StandinServer, lanes: int, via: str, reps: int, first: int) -> Case:
    case = Case(lanes, via)
    with tempfile.TemporaryDirectory(prefix="lb-bench-", ignore_cleanup_errors=True) as d, \
            cockpit(Path(d), server.url, lanes) as cp:  # fmt: skip
        app, tmux, pane = cp.app, cp.tmux, cp.pane
        bells: list[int] = []  # "bench needs you" notices, pty read time
        ends: list[int] = []  # "bench finished its turn"
        seen: list[str] = []

        def notice(ns: int, m: re.Match[bytes]) -> None:
            lane, title = m.group(1).decode(), m.group(2).decode()
            seen.append(f"{lane} {title}")
            if lane == LANE and title == "needs you":
                bells.append(ns)
            elif lane == LANE and title == "finished its turn":
                ends.append(ns)

        app.hooks.append(MarkerScanner(_NOTICE, notice, 1024))
        watch = PaneWatch(tmux, _session_of(tmux, pane), pane)
        try:
            for k in range(reps):
                n = first + k
                try:
                    ms = _repetition(cp, server, watch, via, n, bells, ends, case)
                except TimeoutError as e:  # the session is in an unknown state: stop here
                    case.lost += reps - k
                    screen = tmux.run("capture-pane", "-p", "-t", pane, check=False)
                    case.notes.append(f"rep {n}: {e}; notices so far: {seen[-6:]}; "
                                      f"pane: {screen.strip()[-600:]!r}")
                    print(f"  rep {n}: {e}", file=sys.stderr, flush=True)
                    break
                print(f"  rep {n}: {ms}", file=sys.stderr, flush=True)
        finally:
            watch.close()
    return case


# -- output --------------------------------------------------------------------------------


def figures(case: Case) -> dict[str, Any]:
    ms = [s.notify_ms for s in case.samples]
    ref = [s.reference_ms for s in case.samples]
    p95 = percentile(ms, 95)
    return {
        "lanes": case.lanes,
        "via": case.via,
        "notification_latency_ms": {"p50": rounded(percentile(ms, 50)), "p95": rounded(p95),
                                    "max": rounded(max(ms)) if ms else math.nan},
        "reference_detect_ms": {"p50": rounded(percentile(ref, 50)),
                                "p95": rounded(percentile(ref, 95))},
        "repetitions": len(ms),
        "lost": case.lost,
        "goal": f"p95 < {GOAL_MS:g} ms",
        "ok": (not case.lost) and not math.isnan(p95) and p95 < GOAL_MS,
        "samples_ms": [round(x, 2) for x in ms],
        "reference_samples_ms": [round(x, 2) for x in ref],
        "series": summary(ms),
        "notes": case.notes,
    }


def machine(quick: bool, reps: int) -> dict[str, Any]:
    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False,
                              cwd=ROOT).stdout.strip()

    import textual

    claude = find_clis().get("claude")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tmux": out("tmux", "-V"),
        "textual": textual.__version__,
        "claude": out(claude, "--version") if claude else None,
        "commit": out("git", "describe", "--always", "--dirty"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "quick": quick,
        "repetitions": reps,
    }


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def print_table(doc: dict[str, Any]) -> None:
    print(f"{'lanes':>5} {'via':8} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'ref p50':>8} {'ref p95':>8}  goal")
    for c in doc["cases"]:
        lat, ref = c["notification_latency_ms"], c["reference_detect_ms"]

        def cell(v: Any) -> str:
            return "-" if v is None else f"{v:g}"

        print(f"{c['lanes']:>5} {c['via']:8} {c['repetitions']:>3} {cell(lat['p50']):>8} "
              f"{cell(lat['p95']):>8} {cell(lat['max']):>8} {cell(ref['p50']):>8} "
              f"{cell(ref['p95']):>8}  {c['goal']}{'' if c['ok'] else ' NO'}"
              + (f" ({c['lost']} lost)" if c["lost"] else ""))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 repetitions per case")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per case (default 12)")
    ap.add_argument("--lanes", default="1,8", help="comma-separated lane counts (1 claude + idle)")
    ap.add_argument("--via", default="pane",
                    help="pane, cockpit or both (comma); cockpit: see docs/perf/notify.md")
    ap.add_argument("--out", default=str(RESULTS), help="where the JSON goes")
    args = ap.parse_args(argv)
    reps = args.reps or (3 if args.quick else 12)
    counts = [int(n) for n in re.split(r"[,\s]+", args.lanes.strip()) if n]
    vias = [v for v in re.split(r"[,\s]+", args.via.strip()) if v]
    if bad := [v for v in vias if v not in ("pane", "cockpit")]:
        print(f"--via: unknown {bad[0]!r} (pane, cockpit)", file=sys.stderr)
        return 2
    doc: dict[str, Any] = {"machine": machine(args.quick, reps), "cases": []}
    started = time.perf_counter()
    first = 1
    with StandinServer(default=bench_reply) as server:
        for n in counts:
            for via in vias:
                print(f"… {n} lane(s), turns started in the {via}", file=sys.stderr, flush=True)
                case = run_case(server, n, via, reps, first)
                first += reps
                doc["cases"].append(figures(case))
    doc["machine"]["seconds"] = round(time.perf_counter() - started)
    doc["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    doc = _finite(doc)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    print_table(doc)
    print(out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
