"""The one object a dialect renderer gets: the request, where to write, and the script."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from laneboard.standins._wire import Wire
from laneboard.standins.recorded import RecordedRequest
from laneboard.standins.replies import Reply


@dataclass
class Exchange:
    """One request being answered.

    `next_reply(dialect)` pops that dialect's scripted reply (or asks the default reply
    function); renderers call it at most once, and only for real model calls.
    `models` is a snapshot of the models the stand-in says it has pulled.
    """

    request: RecordedRequest
    wire: Wire
    stopping: threading.Event
    models: tuple[str, ...]
    next_reply: Callable[[str], Reply]

    def body_dict(self) -> dict[str, object]:
        body = self.request.body
        return body if isinstance(body, dict) else {}

    def retry_headers(self, reply: Reply) -> dict[str, str]:
        return {"Retry-After": reply.retry_after} if reply.retry_after else {}

    def send_error(self, reply: Reply, body: Callable[[int, str, str | None], object]) -> None:
        """Answer with a scripted error reply, in the dialect `body` writes errors in."""
        self.wire.send_json(reply.status, body(reply.status, reply.error_message, reply.error_type),
                            self.retry_headers(reply))
