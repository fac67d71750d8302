"""Restart policy arithmetic: backoff and start limits, as systemd and OTP supervisors do it.

A lane may start `burst` times within `interval_s`; one more start inside the window marks
it failed until a person restarts it. Delays double from `backoff_s` up to `backoff_max_s`.
A cockpit-wide cap (`CockpitBudget`) bounds the restarts of all lanes together so nested
limits cannot multiply (eight lanes × five restarts must not become forty forks a minute).
The two compose: a restart needs room in both, so the tighter one wins; when the budget is
what stops a lane, its failure says so and names both limits (a lane's own `burst` is never
overridden silently).

A re-adoption is not a start: when the lane's process was found still running (a
dropped SSH link came back, a new cockpit took over the session) nothing was forked, so
the start just recorded is taken back (`adopted`). Otherwise a remote lane whose link
drops `burst` times would be marked failed at its first real death, for starts it never
made.

`consecutive_failures` counts failed runs in a row; the supervisor resets it only when a
person restarts the lane or a run outlived `interval_s`, never on a mere start, so the
delay really doubles.
Pure functions of an injectable clock, so the rules are tested without waiting.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from laneboard.config import RestartPolicy

Clock = Callable[[], float]


@dataclass
class StartHistory:
    """Start times of one lane within its window, and the delay before the next restart."""

    policy: RestartPolicy
    clock: Clock = time.monotonic
    starts: deque[float] = field(default_factory=deque)
    consecutive_failures: int = 0
    adoptions: int = 0

    def _trim(self, now: float) -> None:
        while self.starts and now - self.starts[0] > self.policy.interval_s:
            self.starts.popleft()

    def record_start(self) -> None:
        now = self.clock()
        self._trim(now)
        self.starts.append(now)

    def adopted(self) -> None:
        """The start just recorded found the lane's process alive and adopted it: nothing
        was started, so it does not count against `burst` (see the module docstring)."""
        if self.starts:
            self.starts.pop()
        self.adoptions += 1

    def limit_reached(self) -> bool:
        """True when one more start would exceed `burst` starts within `interval_s`."""
        self._trim(self.clock())
        return len(self.starts) >= self.policy.burst

    def next_delay(self) -> float:
        """Delay before the next restart: exponential in consecutive failures, capped."""
        delay = self.policy.backoff_s * (2 ** max(0, self.consecutive_failures - 1))
        return float(min(delay, self.policy.backoff_max_s))

    def reset(self) -> None:
        """A person restarted the lane by hand: forget the history."""
        self.starts.clear()
        self.consecutive_failures = 0

    def should_restart(self, exit_ok: bool, user_stopped: bool) -> bool:
        if user_stopped or self.policy.policy == "never":
            return False
        return not (self.policy.policy == "on-failure" and exit_ok)


@dataclass
class CockpitBudget:
    """At most `limit` automatic restarts across all lanes within `window_s`."""

    limit: int = 20
    window_s: float = 60.0
    clock: Clock = time.monotonic
    times: deque[float] = field(default_factory=deque)

    def take(self) -> bool:
        now = self.clock()
        while self.times and now - self.times[0] > self.window_s:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True
