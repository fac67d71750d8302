"""An in-process stand-in harness for Pilot and snapshot tests that need no tmux.

`EchoHarness` answers `echo: PROMPT`, streaming it as output first. A test can hold a turn
open (`gate`) to see the lane busy, or give the lane its own answers (`reply`, e.g. a
triage lane that says SKIP; raising from it fails the turn).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from laneboard.harnesses.base import (
    Harness,
    HarnessSpec,
    Health,
    OutputReceived,
    TurnResult,
    Usage,
)


class EchoHarness(Harness):
    kind = "echo"

    def __init__(self, spec: HarnessSpec, gate: asyncio.Event | None = None,
                 reply: Callable[[str], str] | None = None) -> None:
        super().__init__(spec)
        self.gate = gate
        self.reply = reply or (lambda prompt: f"echo: {prompt}")
        self.prompts: list[str] = []

    async def start(self) -> None:
        self._set_state("ready")

    async def send(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        self.prompts.append(prompt)
        self._set_state("busy")
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), timeout)
        reply = self.reply(prompt)
        self.hub.publish(OutputReceived(self.spec.lane, f"\x1b[32m{reply}\x1b[0m\n"))
        self._set_state("ready")
        return TurnResult(reply=reply, usage=Usage(len(prompt), len(reply)),
                          model=self.spec.model)

    async def interrupt(self) -> None:
        pass

    async def stop(self) -> None:
        self._set_state("stopped")

    async def health(self) -> Health:
        return Health(alive=True, pid=None)
