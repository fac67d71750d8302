"""Every error a laneboard user can see, in one tree.

    LaneboardError                 base; `str()` is a message for a person
    ├── ConfigError                config.yaml / openclaw.json could not be loaded (exit 2)
    │                              carries file, line, column, dotted path, expected, hint
    ├── UsageError                 bad command-line input (exit 2)
    ├── UnsafePath                 a runtime/state directory is not private to you (exit 2)
    ├── ModelRefError              a model ref is invalid or not allowed ("Model is not allowed")
    ├── HarnessError               driving an agent failed (exit 1)
    │   ├── BinaryMissing          the agent's CLI is not installed
    │   ├── SetupBlocked           the agent shows a setup/trust dialog laneboard won't answer
    │   ├── ProviderError          the model endpoint failed: kind auth|rate-limit|unreachable|
    │   │                          server|not-found|bad-request
    │   ├── HarnessTimeout         a wait passed its deadline
    │   └── FenceViolation         the agent changed what its fence forbids (e.g. the tree)
    ├── LaneError                  a lane is unknown, failed, or locked by another process
    │   ├── LaneBusy               a deferred send's lane stayed busy: nothing was sent
    │   └── RouteRefused           untrusted input has no lane that may take it (exit 1:
    │                              the input is valid, laneboard refuses it on purpose)
    └── ArtifactError              an artifact could not be stored or read

Only the CLI turns these into exit codes; library code raises and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass


class LaneboardError(Exception):
    """Base of all laneboard errors; the message is written for a person."""

    exit_code: int = 1


@dataclass
class Location:
    """Where in a file a problem sits (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass
class ConfigProblem:
    """One problem in a config file: where, what path, what was expected, and a hint."""

    message: str
    location: Location
    path: str = ""
    expected: str = ""
    hint: str = ""

    def render(self) -> str:
        head = f"{self.location}: "
        if self.path:
            head += f"{self.path}: "
        lines = [head + self.message]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class ConfigError(LaneboardError):
    """A config file could not be loaded; holds every problem found, in file order."""

    exit_code = 2

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))

    @property
    def first(self) -> ConfigProblem:
        return self.problems[0]


class UsageError(LaneboardError):
    """Bad command-line input."""

    exit_code = 2


class UnsafePath(LaneboardError):
    """A directory or file laneboard would write into is not private to you (another
    owner, a symlink, writable by others): using it could let another user run code as
    you, so laneboard stops (exit 2)."""

    exit_code = 2


class ModelRefError(LaneboardError):
    """A model ref is malformed or outside the allowlist."""

    exit_code = 2


class HarnessError(LaneboardError):
    """Driving an agent failed."""


class BinaryMissing(HarnessError):
    """The agent CLI is not on PATH."""


class SetupBlocked(HarnessError):
    """The agent shows a setup, login or trust dialog that laneboard will not answer for you."""


class ProviderError(HarnessError):
    """The model endpoint failed.

    `kind` is one of auth, rate-limit, unreachable, server, not-found, bad-request; the
    supervisor fails over to the next model for auth, rate-limit and unreachable.
    """

    def __init__(self, message: str, kind: str = "server", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def fails_over(self) -> bool:
        return self.kind in {"auth", "rate-limit", "unreachable"}


class HarnessTimeout(HarnessError):
    """A wait passed its deadline."""


class FenceViolation(HarnessError):
    """The agent did something its fence forbids (for example, it changed the working tree)."""


class LaneError(LaneboardError):
    """A lane is unknown, failed, or held by another process."""


class LaneBusy(LaneError):
    """A deferred send (`send --defer-if-busy`) gave up: the lane was still busy at its
    deadline and nothing was typed into it — so an op id it claimed may be given back."""


class RouteRefused(LaneError):
    """Untrusted input has no lane that may take it (the untrusted lane does not qualify).

    Raised by `Router.route()`; the message names the lanes considered and the
    `routing.untrusted` setting to change. Exit 1, not 2: the command line and the config
    are fine, the refusal is the policy working (a fence, not a usage error).
    """

    exit_code = 1


class ArtifactError(LaneboardError):
    """An artifact could not be written or read."""
