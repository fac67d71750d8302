"""What the HTTP harnesses (Ollama, OpenAI-compatible) share: one turn's lifecycle.

An HTTP lane has no process to supervise, so `start` and `health` are reachability probes
and a turn is one streamed request. This module owns the parts that must behave the same
for every such endpoint:

- every wait has a deadline: httpx connect/read/write/pool timeouts on each request, and
  `send(timeout=…)` around the whole turn (→ `HarnessTimeout`);
- HTTP failures become `ProviderError` with the kind the supervisor fails over on
  (401/403 auth, 404 not-found, 429 rate-limit, 5xx server, other 4xx bad-request,
  connection refused unreachable), and the message names the URL and the model;
- a degenerate-output watchdog sees every chunk; when it trips the stream is closed,
  `ErrorRaised(kind="watchdog")` is published and the turn ends `failed`;
- `interrupt()` cancels the running turn, which then ends `interrupted` with what had
  arrived so far;
- conversation memory: the last `history_turns` user/assistant exchanges per harness (one
  harness drives one lane), resent with each prompt. `history_turns=0` makes every `send`
  a stateless single turn. Failed or interrupted turns are not remembered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import httpx

from laneboard.core.http_status import kind_for_status
from laneboard.core.vocabulary import TurnState
from laneboard.errors import HarnessError, HarnessTimeout, ProviderError
from laneboard.harnesses.base import (
    ErrorRaised,
    Harness,
    HarnessSpec,
    Health,
    OutputReceived,
    TurnFinished,
    TurnResult,
    Usage,
    UsageReported,
)
from laneboard.harnesses.watchdog import RepetitionWatchdog

log = logging.getLogger(__name__)


class DegenerationCheck(Protocol):
    """Anything that watches streamed text: `feed` returns True once output is degenerate."""

    def feed(self, text: str) -> bool: ...


#: A check object (used as is for every turn) or a factory called once per turn.
WatchdogArg = DegenerationCheck | Callable[[], DegenerationCheck]
Message = dict[str, Any]


class Degenerate(Exception):
    """Raised inside a stream when the watchdog trips; closes the HTTP response."""


class TurnStream:
    """Collects one turn's output, publishing each chunk and feeding the watchdog."""

    def __init__(self, harness: Harness, check: DegenerationCheck | None) -> None:
        self._harness = harness
        self._check = check
        self.parts: list[str] = []
        self.usage = Usage()
        self.extra: dict[str, object] = {}

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        self._harness.hub.publish(OutputReceived(self._harness.spec.lane, text))
        if self._check is not None and self._check.feed(text):
            raise Degenerate(
                f"degenerate output from {self._harness.spec.model or 'the model'}: the same "
                f"text repeated without end (last chunk {text[:40]!r}); stream stopped"
            )


def error_message(body: bytes) -> str:
    """The human part of an error body in any dialect (Ollama, OpenAI, Anthropic)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body.decode("utf-8", "replace").strip()[:200]
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, str):
            return err
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
    return json.dumps(data)[:200]


def status_error(
    status: int, detail: str, *, service: str, url: str, model: str | None,
    retry_after: str | None = None, missing_hint: str = "pull or load it, or pick another model",
) -> ProviderError:
    """The ProviderError for an HTTP error status, worded for a person (the kind comes
    from the one status table, `core.http_status`; the wording is this module's own)."""
    where = f"{service} at {url}"
    kind = kind_for_status(status)
    if kind == "auth":
        message = (f"{where} refused the credentials ({status}: {detail}); check the API key "
                   "variable configured for this provider")
    elif kind == "not-found":
        message = f"{where} has no model {model!r} ({detail}); {missing_hint}"
    elif kind == "rate-limit":
        wait = f"; retry after {retry_after}s" if retry_after else ""
        message = f"{where} is rate-limiting ({detail}){wait}"
    elif kind == "server":
        message = f"{where} failed with {status}: {detail}"
    else:
        message = f"{where} rejected the request ({status}: {detail})"
    return ProviderError(message, kind=kind, status=status)


class HttpHarness(Harness):
    """Base of the harnesses that talk to a model endpoint over HTTP."""

    service = "model endpoint"
    unreachable_hint = "is the server running?"
    probe_timeout = 3.0

    def __init__(
        self,
        spec: HarnessSpec,
        *,
        watchdog: WatchdogArg | None = RepetitionWatchdog,
        history_turns: int = 8,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(spec)
        self.base_url = self.resolve_base_url().rstrip("/")
        self._watchdog = watchdog
        self.watches_output = watchdog is not None
        self.history: deque[Message] = deque(maxlen=2 * max(history_turns, 0))
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=30.0, pool=connect_timeout
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._turn: asyncio.Task[None] | None = None
        self._interrupting = False

    # -- for subclasses --------------------------------------------------------------------

    @abstractmethod
    def resolve_base_url(self) -> str:
        """The endpoint's base URL, from the spec, the environment or the default."""

    @abstractmethod
    async def probe(self) -> str:
        """One cheap request that proves the endpoint answers; returns a detail line."""

    @abstractmethod
    async def stream_chat(self, messages: list[Message], turn: TurnStream) -> None:
        """Stream one chat turn into `turn` (`feed` per chunk, set `turn.usage`)."""

    def headers(self) -> dict[str, str]:
        return {}

    def missing_hint(self, model: str | None) -> str:
        """What to do when the endpoint says the model does not exist."""
        return "pull or load it, or pick another model"

    # -- plumbing --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def client(self) -> httpx.AsyncClient:
        """The harness's client, created on first use (in the running event loop)."""
        if self._client is None or self._client.is_closed:
            host = urlsplit(self.base_url).hostname or ""
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                headers=self.headers(),
                transport=self._transport,
                # a proxy from the environment must never see loopback traffic
                trust_env=host not in ("127.0.0.1", "localhost", "::1"),
            )
        return self._client

    def raise_for(self, status: int, body: bytes, response: httpx.Response,
                  model: str | None = None) -> None:
        """Raise the ProviderError for an error status; `model` is the one requested."""
        if status >= 400:
            model = model or self.spec.model
            raise status_error(
                status, error_message(body), service=self.service, url=str(response.url),
                model=model, retry_after=response.headers.get("retry-after"),
                missing_hint=self.missing_hint(model),
            )

    async def request_json(self, method: str, path: str, *, json_body: Any = None,
                           deadline: float | None = None) -> Any:
        """One non-streamed request; errors mapped like a turn's."""
        url = self.url(path)
        async with self.translated(url):
            kwargs: dict[str, Any] = {}
            if deadline is not None:
                kwargs["timeout"] = httpx.Timeout(deadline)
            resp = await self.client().request(method, url, json=json_body, **kwargs)
            model = json_body.get("model") if isinstance(json_body, dict) else None
            self.raise_for(resp.status_code, resp.content, resp, model)
            try:
                return resp.json()
            except ValueError as exc:
                raise ProviderError(f"{self.service} at {url} sent a reply that is not JSON",
                                    kind="server", status=resp.status_code) from exc

    def translated(self, url: str) -> _Translate:
        return _Translate(self, url)

    def _new_check(self) -> DegenerationCheck | None:
        wd = self._watchdog
        if wd is None:
            return None
        # a class has a `feed` attribute too, so test for a type first
        if isinstance(wd, type) or not hasattr(wd, "feed"):
            return cast(Callable[[], DegenerationCheck], wd)()
        return cast(DegenerationCheck, wd)

    # -- the Harness contract --------------------------------------------------------------

    async def start(self) -> None:
        """Check the endpoint answers (a short probe); ready on success."""
        self._set_state("starting")
        try:
            detail = await self.probe()
        except HarnessError as exc:
            self._set_state("failed", str(exc))
            raise
        self._set_state("ready", detail)

    async def health(self) -> Health:
        try:
            detail = await self.probe()
        except HarnessError as exc:
            return Health(alive=False, detail=str(exc))
        return Health(alive=True, detail=detail)

    async def send(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        user: Message = {"role": "user", "content": prompt}
        messages = [*self.history, user]
        result = await self.run_turn(lambda turn: self.stream_chat(messages, turn), timeout)
        if result.state == "done":
            self.history.extend([user, {"role": "assistant", "content": result.reply}])
        return result

    async def interrupt(self) -> None:
        task = self._turn
        if task is not None and not task.done():
            self._interrupting = True
            task.cancel()

    async def stop(self) -> None:
        await self.interrupt()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._set_state("stopped")

    async def run_turn(
        self, body: Callable[[TurnStream], Coroutine[Any, Any, None]], deadline: float
    ) -> TurnResult:
        """Run one streamed turn with a deadline, the watchdog and interruption."""
        async with self._lock:
            turn = TurnStream(self, self._new_check())
            started = time.time()
            self._set_state("busy")
            self._interrupting = False
            task = asyncio.create_task(body(turn))
            self._turn = task
            try:
                async with asyncio.timeout(deadline):
                    await task
            except Degenerate as exc:
                return self._finish(turn, started, "failed", str(exc), kind="watchdog")
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if self._interrupting and (current is None or current.cancelling() == 0):
                    return self._finish(turn, started, "interrupted", "interrupted")
                raise
            except TimeoutError as exc:
                msg = (f"{self.service} at {self.base_url} gave no complete reply within "
                       f"{deadline:g}s (model {self.spec.model})")
                self._fail("timeout", msg)
                raise HarnessTimeout(msg) from exc
            except HarnessTimeout as exc:
                self._fail("timeout", str(exc))
                raise
            except ProviderError as exc:
                self._fail(exc.kind, str(exc), lane_down=exc.kind == "unreachable")
                raise
            finally:
                self._turn = None
                if not task.done():
                    task.cancel()
            return self._finish(turn, started, "done", None)

    def _fail(self, kind: str, message: str, *, lane_down: bool = False) -> None:
        """A turn raised: report it. Only an unreachable endpoint marks the lane failed;
        after a refused or rate-limited request the lane can take the next prompt."""
        self.hub.publish(ErrorRaised(self.spec.lane, kind, message))
        self._set_state("failed" if lane_down else "ready", message)

    def _finish(self, turn: TurnStream, started: float, state: TurnState, error: str | None,
                *, kind: str | None = None) -> TurnResult:
        """A turn ended with a result (done, or failed by the watchdog, or interrupted)."""
        if kind is not None and error is not None:
            self.hub.publish(ErrorRaised(self.spec.lane, kind, error))
        result = TurnResult(
            reply=turn.text, state=state, usage=turn.usage, error=error,
            model=self.spec.model, started=started, finished=time.time(),
            extra=dict(turn.extra),
        )
        if turn.usage.input_tokens or turn.usage.output_tokens:
            self.hub.publish(UsageReported(self.spec.lane, turn.usage))
        self.hub.publish(TurnFinished(self.spec.lane, result))
        self._set_state("ready")
        return result


class _Translate:
    """`async with`: turns httpx transport failures into laneboard errors naming `url`."""

    def __init__(self, harness: HttpHarness, url: str) -> None:
        self._h = harness
        self._url = url

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: object) -> bool:
        h = self._h
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            raise ProviderError(
                f"{h.service} is unreachable at {self._url} ({exc or type(exc).__name__}); "
                f"{h.unreachable_hint}", kind="unreachable") from exc
        if isinstance(exc, httpx.TimeoutException):
            raise HarnessTimeout(
                f"{h.service} at {self._url} stopped answering "
                f"({type(exc).__name__}) for model {h.spec.model}") from exc
        if isinstance(exc, httpx.TransportError):
            raise ProviderError(
                f"{h.service} at {self._url}: connection lost mid-response ({exc})",
                kind="server") from exc
        return False
