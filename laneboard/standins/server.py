"""`StandinServer`: one local HTTP server that speaks Anthropic, OpenAI and Ollama.

Why one server for all three dialects: their paths never collide (`/v1/messages`,
`/v1/responses`, `/v1/chat/completions`, `/api/*`), and `laneboard demo` can then point
every lane at a single URL. Scripted replies are kept in per-dialect queues plus one shared
queue, so a test that drives a single agent just calls `script(...)`, while a test (or the
demo) that mixes agents can aim each reply at one dialect.

Threads: `ThreadingHTTPServer` with daemon threads, bound to 127.0.0.1 only. `stop()` shuts
down every open connection, so endless or slow streams end at once and nothing outlives
the test.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from laneboard.standins import anthropic, chat, ollama, responses
from laneboard.standins._exchange import Exchange
from laneboard.standins._wire import ClientGone, Wire
from laneboard.standins.recorded import (
    ANTHROPIC,
    CHAT,
    EMBED,
    OLLAMA,
    RESPONSES,
    RESPONSES_TITLE,
    RecordedRequest,
    parse_json,
)
from laneboard.standins.replies import Reply, StreamAborted

log = logging.getLogger(__name__)

#: The shared queue: serves any dialect that has no reply of its own queued.
ANY = "*"
DIALECTS = (ANTHROPIC, RESPONSES, CHAT, OLLAMA, EMBED)
DEFAULT_MODELS = ("qwen3:7b", "qwen3-embedding:8b", "gemma4:latest")

DefaultReply = Callable[[RecordedRequest], Reply]
Route = tuple[str | None, Callable[[Exchange], None]]

ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/v1/messages"): (ANTHROPIC, anthropic.handle_messages),
    ("POST", "/v1/responses"): (RESPONSES, responses.handle_responses),
    ("POST", "/v1/chat/completions"): (CHAT, chat.handle_chat),
    ("POST", "/v1/embeddings"): (EMBED, chat.handle_embeddings),
    ("GET", "/v1/models"): (None, chat.handle_models),
    ("GET", "/"): (None, ollama.handle_root),
    ("GET", "/api/version"): (None, ollama.handle_version),
    ("GET", "/api/tags"): (None, ollama.handle_tags),
    ("GET", "/api/ps"): (None, ollama.handle_ps),
    ("POST", "/api/chat"): (OLLAMA, ollama.handle_chat),
    ("POST", "/api/generate"): (OLLAMA, ollama.handle_generate),
    ("POST", "/api/embed"): (EMBED, ollama.handle_embed),
    ("POST", "/api/embeddings"): (EMBED, ollama.handle_embed),
}


def default_reply(request: RecordedRequest) -> Reply:
    """A short answer that says where it comes from and what it received."""
    lines = (request.prompt or "").strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > 48:
        first = first[:47] + "..."
    return Reply.text(f'laneboard stand-in ({request.dialect}): received "{first}".')


class StandinServer:
    """Stand-in model endpoints on `http://127.0.0.1:<port>`; see the package docstring."""

    def __init__(
        self,
        *,
        models: Iterable[str] = DEFAULT_MODELS,
        port: int = 0,
        default: DefaultReply = default_reply,
    ) -> None:
        self._lock = threading.Condition()
        self._models: tuple[str, ...] = tuple(models)
        self._queues: dict[str, deque[Reply]] = {d: deque() for d in (ANY, *DIALECTS)}
        self._requests: list[RecordedRequest] = []
        self._default = default
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> StandinServer:
        """Bind 127.0.0.1 and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self.stopping.clear()
        httpd = _HTTPServer(("127.0.0.1", self._port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"standin:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection (streams end mid-way)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the stand-in is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`: ANTHROPIC_BASE_URL and the Ollama base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`: a Codex provider's or an OpenAI client's base URL."""
        return f"{self.url}/v1"

    @property
    def ollama_host(self) -> str:
        """`127.0.0.1:PORT`, the form OLLAMA_HOST takes."""
        return f"127.0.0.1:{self.port}"

    # -- models ----------------------------------------------------------------------------

    @property
    def models(self) -> tuple[str, ...]:
        """Models listed by `/api/tags` and `/v1/models`; Ollama routes 404 on others."""
        with self._lock:
            return self._models

    @models.setter
    def models(self, names: Iterable[str]) -> None:
        with self._lock:
            self._models = tuple(names)

    # -- the script ------------------------------------------------------------------------

    def script(self, *replies: Reply, dialect: str | None = None) -> None:
        """Queue replies, served first-in first-out, one per model call.

        `dialect` (anthropic | responses | chat | ollama | embed) aims them at one dialect;
        without it they go to the shared queue, used by every dialect except `embed` once
        its own queue is empty. Embedding calls take only replies aimed at `embed`
        (typically `Reply.error(...)`), and otherwise answer normally.
        """
        key = dialect or ANY
        if key not in self._queues:
            raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
        with self._lock:
            self._queues[key].extend(replies)

    def set_default(self, default: DefaultReply) -> None:
        """Replace the function that answers when no scripted reply is queued."""
        with self._lock:
            self._default = default

    def pending(self, dialect: str | None = None) -> int:
        """Replies still queued for `dialect` (None: the shared queue)."""
        with self._lock:
            return len(self._queues[dialect or ANY])

    def _next_reply(self, request: RecordedRequest, dialect: str) -> Reply:
        with self._lock:
            own = self._queues[dialect]
            if own:
                return own.popleft()
            if dialect == EMBED:
                return Reply()
            if self._queues[ANY]:
                return self._queues[ANY].popleft()
            default = self._default
        return default(request)

    # -- what was received -----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def calls(self, dialect: str | None = None) -> list[RecordedRequest]:
        """Model calls (requests with a dialect), optionally of one dialect only.

        Codex's title requests have dialect `responses-title`, so `calls("responses")`
        counts real turns only.
        """
        return [r for r in self.requests
                if r.dialect is not None and (dialect is None or r.dialect == dialect)]

    def prompts(self, dialect: str | None = None) -> list[str]:
        """The user prompt of each model call (see `RecordedRequest.prompt`)."""
        return [p for r in self.calls(dialect) if (p := r.prompt) is not None]

    def last_prompt(self, dialect: str | None = None) -> str | None:
        found = self.prompts(dialect)
        return found[-1] if found else None

    def wait_for_calls(
        self, count: int = 1, *, dialect: str | None = None, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Block until `count` model calls (of `dialect`) arrived; TimeoutError after
        `timeout` seconds. For tests that drive a CLI and cannot await its HTTP call."""

        def enough() -> bool:
            return len(self._calls_locked(dialect)) >= count

        with self._lock:
            if not self._lock.wait_for(enough, timeout=timeout):
                got = len(self._calls_locked(dialect))
                raise TimeoutError(
                    f"stand-in got {got} of {count} {dialect or 'model'} calls in {timeout}s"
                )
            return self._calls_locked(dialect)

    def _calls_locked(self, dialect: str | None) -> list[RecordedRequest]:
        return [r for r in self._requests
                if r.dialect is not None and (dialect is None or r.dialect == dialect)]

    def clear(self) -> None:
        """Forget recorded requests and queued replies."""
        with self._lock:
            self._requests.clear()
            for q in self._queues.values():
                q.clear()

    # -- used by the handler ---------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
            return len(self._requests) - 1

    def _record_finished(self, index: int, request: RecordedRequest) -> None:
        """Stamp the response's end on the record (unless `clear()` dropped it)."""
        with self._lock:
            if index < len(self._requests) and self._requests[index] is request:
                done = replace(request, finished=time.monotonic())
                self._requests[index] = done
                self._lock.notify_all()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _exchange(self, request: RecordedRequest, wire: Wire) -> Exchange:
        return Exchange(
            request=request, wire=wire, stopping=self.stopping, models=self.models,
            next_reply=lambda dialect: self._next_reply(request, dialect),
        )


#: What a client that went away looks like from the server side: not the stand-in's fault.
CLIENT_GONE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    TimeoutError,
)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: StandinServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (an agent CLI killed mid-stream, a keep-alive reset between
        requests) is normal in a test run; socketserver's default prints a traceback to stderr
        for it, which made passing runs look broken. Those go to the debug log; anything
        else is still logged as the error it is."""
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE_ERRORS):
            log.debug("standin: client %s went away: %r", client_address, exc)
            return
        log.exception("stand-in failed serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, records it, dispatches it to its dialect."""

    protocol_version = "HTTP/1.1"
    server_version = "laneboard-standin/1"
    timeout = 60.0  # an idle keep-alive connection or a stalled reader gives up
    # Streams are written one small chunk at a time; with Nagle on, each chunk after the
    # first waits for the client's delayed ACK (~40 ms), which a real provider does not do
    # and which made the direct reference in benchmarks slower than the gateway.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.owner._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("standin: " + format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length > 0 else b""
        if len(data) < length:  # the client hung up inside the body (EOF before RST)
            raise ConnectionAbortedError(f"body ended after {len(data)} of {length} bytes")
        return data

    def _serve(self) -> None:
        owner = self.server.owner
        wire = Wire(self)
        try:
            raw = self._read_body()
            split = urlsplit(self.path)
            path = split.path.rstrip("/") or "/"
            body = parse_json(raw)
            route = ROUTES.get((self.command, path))
            if route is None and self.command == "HEAD":
                route = ROUTES.get(("GET", path))
            dialect = route[0] if route else None
            if dialect == RESPONSES and responses.is_title_request(body):
                dialect = RESPONSES_TITLE
            request = RecordedRequest(
                method=self.command, path=path, query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                raw=raw, body=body, dialect=dialect, received=time.monotonic(),
            )
            index = owner._record(request)
            ex = owner._exchange(request, wire)
            if route is not None and dialect == RESPONSES_TITLE:
                responses.handle_responses(ex, title=True)
            elif route is not None:
                route[1](ex)
            elif self.command == "HEAD":
                wire.send_bytes(200, b"", "text/plain")
            else:
                wire.send_json(404, {"error": f"the stand-in has no {self.command} {path}"})
            owner._record_finished(index, request)
        except (ClientGone, StreamAborted) as exc:
            log.debug("standin: client %s went away: %r", self.client_address, exc)
            self.close_connection = True
        except CLIENT_GONE_ERRORS as exc:
            log.debug("standin: client %s went away: %r", self.client_address, exc)
            self.close_connection = True
        except Exception:
            log.exception("stand-in failed on %s %s", self.command, self.path)
            self.close_connection = True
            if not wire.sent:
                with contextlib.suppress(ClientGone):
                    wire.send_json(500, {"error": "the stand-in itself failed; see its log"})
        if owner.stopping.is_set():
            self.close_connection = True
