"""Shared parts of the performance suite: figures, statistics, /proc sampling, a pty, tmux.

Nothing here measures anything by itself. The figure modules (`relay_bench`, `tui_bench`,
`cockpit_bench`, …) build on it and `run.py` prints what they return.

CPU is read from `/proc/<pid>/stat` (utime + stime, in clock ticks): for a process *tree*
the root's own time plus the time of the children it has reaped (cutime + cstime) plus
every live descendant's, so short-lived `tmux` processes forked during a window are
counted; for a single process (the tmux server) only its own time, because its children
are the lanes, i.e. the workload. Percentages are of one core.
"""

from __future__ import annotations

import contextlib
import math
import os
import pty
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table: a measured value, the reference measured in the same run."""

    value: float
    unit: str
    goal: str
    ok: bool
    reference: float | None = None
    ratio: float | None = None
    note: str = ""


@dataclass
class Report:
    """What a figure module returns: its figures, and raw series for plots (optional)."""

    figures: dict[str, Figure] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)

    def update(self, other: Report) -> None:
        self.figures.update(other.figures)
        self.series.update(other.series)


def ratio(value: float, reference: float | None) -> float | None:
    if reference is None or not reference or math.isnan(reference) or math.isnan(value):
        return None
    return round(value / reference, 2)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0–100), linear between the closest ranks; nan when empty."""
    data = sorted(values)
    if not data:
        return math.nan
    k = (len(data) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values: Iterable[float]) -> float:
    data = [v for v in values if not math.isnan(v)]
    return statistics.median(data) if data else math.nan


def summary(ms: Sequence[float]) -> dict[str, float]:
    """Percentiles of a latency sample (ms) for JSON series and plots."""
    return {
        "n": len(ms),
        **{f"p{q}": round(percentile(ms, q), 3) for q in (5, 25, 50, 75, 95)},
        "max": round(max(ms), 3) if ms else math.nan,
    }


def rounded(value: float, digits: int = 1) -> float:
    return value if math.isnan(value) else round(value, digits)


# -- /proc -----------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 is index 0)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _ticks(fields: list[str], reaped: bool) -> int:
    # utime, stime, cutime, cstime are fields 14–17 (indexes 11–14 after the name)
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if reaped else 0)


def descendants(root: int) -> list[int]:
    """Live descendants of `root` (scanned from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cpu_ticks(trees: Sequence[int], singles: Sequence[int] = ()) -> int:
    """CPU ticks used so far by the process trees rooted at `trees` and by `singles`."""
    total = 0
    for root in trees:
        for pid in [root, *descendants(root)]:
            fields = _stat(pid)
            if fields is not None:
                total += _ticks(fields, reaped=True)
    for pid in singles:
        fields = _stat(pid)
        if fields is not None:
            total += _ticks(fields, reaped=False)
    return total


def cpu_percent(trees: Sequence[int], singles: Sequence[int], seconds: float) -> tuple[float, float]:
    """Percent of one core used over a measured `seconds` window by the process `trees`
    and by the `singles`: (trees, singles)."""
    t0, a0, b0 = time.perf_counter(), cpu_ticks(trees), cpu_ticks((), singles)
    time.sleep(seconds)  # the measurement window itself, not synchronisation
    t1, a1, b1 = time.perf_counter(), cpu_ticks(trees), cpu_ticks((), singles)
    scale = 100.0 / CLK_TCK / (t1 - t0)
    return (a1 - a0) * scale, (b1 - b0) * scale


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MB (VmRSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


# -- waiting ---------------------------------------------------------------------------------


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Re-check `check` until it returns something truthy; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: still not true after {timeout:.0f}s")
        time.sleep(interval)  # the poll interval of a bounded wait on a condition


# -- tmux ------------------------------------------------------------------------------------


class Tmux:
    """A private tmux server (`tmux -L NAME -f /dev/null`), killed by `kill()`."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.argv = ["tmux", "-L", socket, "-f", "/dev/null"]

    def run(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([*self.argv, *args], capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:2])}: {proc.stderr.strip()}")
        return proc.stdout

    def server_pid(self) -> int:
        return int(self.run("display-message", "-p", "#{pid}").strip())

    def lane_panes(self) -> dict[str, str]:
        """laneboard lane id → pane id, for every lane window on this server."""
        out = self.run("list-panes", "-a", "-F", "#{@laneboard_lane}\t#{pane_id}", check=False)
        return dict(line.split("\t") for line in out.splitlines() if line.split("\t")[0])

    def send_lines(self, panes: Iterable[str], text: str) -> None:
        """Type `text` and Enter into every pane, in one tmux command."""
        args: list[str] = []
        for pane in panes:
            args += [*([";"] if args else []), "send-keys", "-t", pane, "-l", "--", text]
            args += [";", "send-keys", "-t", pane, "Enter"]
        if args:
            self.run(*args)

    def kill(self) -> None:
        subprocess.run([*self.argv, "kill-server"], capture_output=True, check=False)
        forget_socket(self.socket)


def forget_socket(socket: str) -> None:
    """Remove what a dead private server leaves behind: its socket file and the state
    directory laneboard's relay keeps for that socket (`$TMPDIR/laneboard-<uid>/<socket>`)."""
    uid = os.getuid()
    tmpdir = Path(os.environ.get("TMUX_TMPDIR") or "/tmp")
    with contextlib.suppress(OSError):
        (tmpdir / f"tmux-{uid}" / socket).unlink()
    shutil.rmtree(Path(tempfile.gettempdir()) / f"laneboard-{uid}" / socket, ignore_errors=True)


def socket_name(tag: str) -> str:
    return f"lb-bench-{tag}-{os.getpid()}-{time.monotonic_ns() % 10**8}"


# -- the laneboard command -------------------------------------------------------------------


def laneboard_argv() -> list[str]:
    """The installed console script next to this interpreter (not a pyenv/asdf shim, whose
    own start-up would be counted), else `laneboard` on PATH, else the CLI through this
    interpreter."""
    script = Path(sys.executable).parent / "laneboard"
    if script.is_file():
        return [str(script)]
    exe = shutil.which("laneboard")
    return [exe] if exe else [sys.executable, "-m", "laneboard.cli"]


def laneboard_env(state: Path, socket: str, **extra: str) -> dict[str, str]:
    """The environment of a laneboard process under test: this checkout, a private tmux
    socket and state directory, a 256-colour terminal, no tmux of the caller."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "NO_COLOR")}
    env.update(
        TERM="xterm-256color",
        LANEBOARD_TMUX_SOCKET=socket,
        LANEBOARD_STATE_DIR=str(state),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    env.pop("LANEBOARD_CONFIG", None)
    env.update(extra)
    return env


# -- a program on a pseudo-terminal ----------------------------------------------------------

ChunkHook = Callable[[int, bytes], None]


class PtyApp:
    """`argv` on a new pty of `size` (columns, rows); its output is read by a thread all
    the time (a full pty would block the program), kept, and shown to `hooks`
    (called with `time.monotonic_ns()` of the read and the chunk)."""

    KEEP = 4 * 1024 * 1024

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path,
                 size: tuple[int, int] = (80, 24)) -> None:
        env = {**env, "COLUMNS": str(size[0]), "LINES": str(size[1])}
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child: the size is set on our side of the pty before the exec
            try:
                import fcntl
                import termios

                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
                os.chdir(cwd)
                os.execvpe(argv[0], list(argv), env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.hooks: list[ChunkHook] = []
        self._data = bytearray()
        self._base = 0  # absolute offset of _data[0]
        self._last = time.monotonic()
        self._history: list[tuple[float, int]] = []  # (time, absolute end offset)
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            now_ns = time.monotonic_ns()
            for hook in list(self.hooks):
                if chunk:
                    hook(now_ns, chunk)
            with self._cond:
                if not chunk:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._data += chunk
                if len(self._data) > 2 * self.KEEP:
                    cut = len(self._data) - self.KEEP
                    del self._data[:cut]
                    self._base += cut
                self._last = now_ns / 1e9
                self._history.append((self._last, self.offset))
                if len(self._history) > 4096:
                    del self._history[:2048]
                self._cond.notify_all()

    @property
    def offset(self) -> int:
        """Bytes read so far (absolute)."""
        return self._base + len(self._data)

    def wait_for(self, needle: bytes, timeout: float, start: int = 0) -> float | None:
        """Seconds (perf_counter) at which `needle` had arrived after absolute `start`, or
        None at the deadline or when the program ended."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                begin = max(0, start - self._base - len(needle))
                if self._data.find(needle, begin) >= 0:
                    return time.perf_counter()
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    return None
                self._cond.wait(left)

    def wait_settled(self, quiet_bytes: int, window: float, timeout: float) -> bool:
        """Wait until at most `quiet_bytes` arrived in the last `window` seconds (a cursor
        blink is allowed; a start-up burst is not). False at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mark = self.offset
            time.sleep(window)  # the observation window of the condition
            if self.offset - mark <= quiet_bytes:
                return True
        return False

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    @property
    def alive(self) -> bool:
        return not self._eof

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                break
            time.sleep(0.02)  # bounded wait for the exit
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self._reader.join(2)


@contextlib.contextmanager
def pty_app(argv: Sequence[str], env: dict[str, str], cwd: Path,
            size: tuple[int, int] = (80, 24)) -> Iterator[PtyApp]:
    app = PtyApp(argv, env, cwd, size)
    try:
        yield app
    finally:
        app.close()


class MarkerScanner:
    """A pty hook finding `pattern` in the output as it is read, across chunk boundaries.
    The pattern must end in a terminator, so a marker cut by a chunk is not matched early."""

    def __init__(self, pattern: re.Pattern[bytes],
                 on_match: Callable[[int, re.Match[bytes]], None], carry: int = 128) -> None:
        self.pattern = pattern
        self.on_match = on_match
        self.carry_len = carry
        self._carry = b""

    def __call__(self, now_ns: int, chunk: bytes) -> None:
        data = self._carry + chunk
        skip = len(self._carry)
        for m in self.pattern.finditer(data):
            if m.end() > skip:
                self.on_match(now_ns, m)
        self._carry = data[-self.carry_len :]
