"""A running supervisor lent to code that closes the supervisor it is given.

Why: `run_review` and the review ladder own their supervisor when a command runs them
(`laneboard review` starts one and closes it at the end). The cockpit and the conductor lend
their *running* supervisor instead; closing it would shut every lane of the cockpit. The
borrowed view forwards `send` and makes `close` a no-op.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.supervisor import Supervisor


class _Borrowed:
    def __init__(self, sup: Supervisor) -> None:
        self._sup = sup

    async def send(self, *args: Any, **kwargs: Any) -> TurnResult:
        return await self._sup.send(*args, **kwargs)

    async def close(self) -> None:
        return None


def borrowed(sup: Supervisor) -> Supervisor:
    """`sup` with `close()` made a no-op (typed as a Supervisor for the callee)."""
    return cast("Supervisor", _Borrowed(sup))
