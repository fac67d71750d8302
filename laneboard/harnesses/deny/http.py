"""HTTP deny patterns (`DELETE /api/*`) and the requests a text or a command line makes.

Requests are found three ways: curl / wget / HTTPie / xh command lines (read with each
client's own option rules, so options before the method — `curl -sS -H … -X DELETE`,
`http --auth u:p DELETE …` — do not hide it), "METHOD url" in free text, and a tool call's
fields (`method: "DELETE", path: "/api/x"`). Every regex here runs on google-re2, whose
time is linear in the text: a screenful of `method: DELETE` must not stall the cockpit.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import re2

from laneboard.harnesses.deny.shell import Word

__all__ = [
    "HTTP_METHODS",
    "HttpPattern",
    "http_hit",
    "parse_http",
    "requests_in",
    "requests_in_text",
]

HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_METHODS_RE = "GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT"
_TARGET_RE = r"((?:https?://|/)[^\s\"'<>),;]*)"
_HTTP_PATTERN = re2.compile(r"^\s*([A-Za-z]+|\*)\s+(\S+)\s*$")
_FREE_REQUEST = re2.compile(rf"(?i)\b({_METHODS_RE})\s+[\"'<(]?((?:https?://|/)[^\s\"'<>)]*)")
#: A tool call's arguments shown as fields (an MCP tool, a JSON body), on one line.
_FIELD_METHOD_FIRST = re2.compile(
    rf"(?i)\b(?:method|verb)\b\W{{0,4}}({_METHODS_RE})\b[^\n]*?"
    rf"\b(?:path|url|uri|endpoint|route)\b\W{{0,4}}{_TARGET_RE}"
)
_FIELD_TARGET_FIRST = re2.compile(
    rf"(?i)\b(?:path|url|uri|endpoint|route)\b\W{{0,4}}{_TARGET_RE}[^\n]*?"
    rf"\b(?:method|verb)\b\W{{0,4}}({_METHODS_RE})\b"
)


@dataclass(frozen=True, slots=True)
class HttpPattern:
    raw: str
    method: str
    target: str
    full_url: bool


def parse_http(raw: str) -> HttpPattern | None:
    """`DELETE /api/*` (or `DELETE https://host/api/*`, or `* /admin/*`) as an HTTP pattern."""
    m = _HTTP_PATTERN.match(raw)
    if m is None:
        return None
    method, target = m.group(1).upper(), m.group(2)
    if method != "*" and method not in HTTP_METHODS:
        return None
    if target.startswith("/"):
        return HttpPattern(raw, method, target, False)
    if "://" in target:
        return HttpPattern(raw, method, target.lower(), True)
    return None


def _request_target(url: str) -> tuple[str, str] | None:
    """(path, scheme://host/path) of a URL or bare path, percent-decoded, dots resolved."""
    url = url.strip("\"'<>(),;")
    if not url:
        return None
    try:
        if url.startswith("/"):
            parts = urlsplit("http://_" + url)
            host = ""
        else:
            if "://" not in url:
                url = "http://" + url  # curl's default for `host:port/path`
            parts = urlsplit(url)
            host = f"{parts.scheme}://{parts.netloc}".lower()
    except ValueError:  # e.g. an invalid IPv6 literal: not a URL laneboard can judge
        return None
    path = unquote(parts.path) or "/"
    trailing = path.endswith("/") and path != "/"
    path = posixpath.normpath(path)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if trailing:
        path += "/"
    return path, f"{host}{path}" if host else path


def http_hit(pattern: HttpPattern, method: str, url: str) -> bool:
    if pattern.method != "*" and method.upper() != pattern.method:
        return False
    target = _request_target(url)
    if target is None:
        return False
    path, full = target
    subject = full if pattern.full_url else path
    # Paths compare case-blind: a case-insensitive server must not slip past the fence.
    return fnmatch.fnmatchcase(subject.lower(), pattern.target.lower())


def requests_in_text(text: str) -> Iterator[tuple[str, str]]:
    """(METHOD, url) written as text: `DELETE /api/x`, or a tool call's fields."""
    for m in _FREE_REQUEST.finditer(text):
        yield m.group(1).upper(), m.group(2)
    for m in _FIELD_METHOD_FIRST.finditer(text):
        yield m.group(1).upper(), m.group(2)
    for m in _FIELD_TARGET_FIRST.finditer(text):
        yield m.group(2).upper(), m.group(1)


# ---------------------------------------------------------------- HTTP clients

#: curl options that take a value (so the value is not mistaken for a URL).
_CURL_SHORT_VALUES = frozenset("XHouAebcxmwdFTEKrYyzCQUP")
_CURL_LONG_VALUES = frozenset(
    {
        "--request",
        "--url",
        "--header",
        "--output",
        "--user",
        "--user-agent",
        "--referer",
        "--cookie",
        "--cookie-jar",
        "--proxy",
        "--max-time",
        "--connect-timeout",
        "--write-out",
        "--form",
        "--form-string",
        "--json",
        "--upload-file",
        "--cert",
        "--config",
        "--range",
        "--retry",
        "--retry-delay",
        "--retry-max-time",
        "--resolve",
        "--oauth2-bearer",
        "--data",
        "--data-raw",
        "--data-binary",
        "--data-urlencode",
        "--data-ascii",
        "--proxy-user",
        "--key",
        "--cacert",
        "--capath",
        "--interface",
        "--limit-rate",
        "--max-filesize",
        "--request-target",
        "--connect-to",
        "--variable",
        "--url-query",
        "--expect100-timeout",
        "--aws-sigv4",
        "--unix-socket",
    }
)
_CURL_LONG_FLAGS = frozenset(
    {
        "--head",
        "--get",
        "--silent",
        "--show-error",
        "--fail",
        "--location",
        "--insecure",
        "--verbose",
        "--include",
        "--compressed",
        "--globoff",
        "--http1.1",
        "--http2",
        "--fail-with-body",
        "--no-progress-meter",
    }
)
#: HTTPie / xh options that take a value.
_HTTPIE_VALUES = frozenset(
    {
        "--auth",
        "-a",
        "--auth-type",
        "-A",
        "--session",
        "--session-read-only",
        "--output",
        "-o",
        "--print",
        "-p",
        "--pretty",
        "--style",
        "-s",
        "--cert",
        "--cert-key",
        "--verify",
        "--proxy",
        "--timeout",
        "--max-redirects",
        "--default-scheme",
        "--format-options",
        "--response-charset",
        "--response-mime",
        "--boundary",
        "--ssl",
        "--ciphers",
        "--unix-socket",
        "--history-print",
        "-P",
        "--bearer",
    }
)


def _long(name: str, known: frozenset[str]) -> set[str]:
    """A long option as the client's getopt reads it: exact, or every option it prefixes."""
    if name in known:
        return {name}
    return {k for k in known if k.startswith(name)} or {name}


def requests_in(verb: str, args: Sequence[Word]) -> Iterator[tuple[str | None, Word]]:
    """(METHOD, url word) for a curl / wget / HTTPie command line; METHOD None when it is
    computed at run time (`-X "$M"`)."""
    if verb == "curl":
        yield from _curl(args)
    elif verb == "wget":
        yield from _wget(args)
    elif verb in ("http", "https", "xh", "xhs", "httpie"):
        yield from _httpie(args)


def _curl(args: Sequence[Word]) -> Iterator[tuple[str | None, Word]]:
    method: str | None = ""
    seen: set[str] = set()
    urls: list[Word] = []
    known = _CURL_LONG_VALUES | _CURL_LONG_FLAGS
    i = 0
    while i < len(args):
        w = args[i]
        a = w.literal
        nxt = args[i + 1] if i + 1 < len(args) else None
        if a is not None and a.startswith("--") and len(a) > 2:
            name, eq, value = a.partition("=")
            names = _long(name, known)
            seen |= names
            value_word: Word | None = Word((value,)) if eq else None
            if not eq and names & _CURL_LONG_VALUES:
                value_word, i = nxt, i + 1
            if "--request" in names and value_word is not None:
                method = value_word.literal
            if "--url" in names and value_word is not None:
                urls.append(value_word)
        elif a is not None and a.startswith("-") and len(a) > 1:
            for k, ch in enumerate(a[1:], start=1):
                seen.add(f"-{ch}")
                if ch in _CURL_SHORT_VALUES:
                    rest = a[k + 1 :]
                    value_word = Word((rest,)) if rest else nxt
                    if not rest:
                        i += 1
                    if ch == "X" and value_word is not None:
                        method = value_word.literal
                    break
        else:
            urls.append(w)
        i += 1
    if seen & {"-I", "--head"}:
        default = "HEAD"
    elif seen & {"-T", "--upload-file"}:
        default = "PUT"
    elif seen & {"-G", "--get"}:
        default = "GET"
    elif seen & {"-d", "-F", "--form", "--json", "--form-string"} or any(
        f.startswith("--data") for f in seen
    ):
        default = "POST"
    else:
        default = "GET"
    for url in urls:
        yield (method if method != "" else default), url


def _wget(args: Sequence[Word]) -> Iterator[tuple[str | None, Word]]:
    method: str | None = "GET"
    urls: list[Word] = []
    i = 0
    while i < len(args):
        w = args[i]
        a = w.literal
        if a is not None and a.startswith("--"):
            name, eq, value = a.partition("=")
            if len(name) > 3 and "--method".startswith(name):
                if eq:
                    method = value
                elif i + 1 < len(args):
                    method = args[i + 1].literal
                    i += 1
            elif len(name) > 3 and (
                "--post-data".startswith(name) or "--post-file".startswith(name)
            ):
                method = "POST" if method == "GET" else method
                if not eq:
                    i += 1
        elif a is not None and a.startswith("-") and len(a) > 1:
            if a[-1] in "OoaeUPTtwiBDIXQ" and len(a) == 2:
                i += 1
        else:
            urls.append(w)
        i += 1
    for url in urls:
        yield method, url


def _httpie(args: Sequence[Word]) -> Iterator[tuple[str | None, Word]]:
    rest: list[Word] = []
    i = 0
    while i < len(args):
        w = args[i]
        a = w.literal
        if a is not None and a.startswith("-") and len(a) > 1:
            name, eq, _ = a.partition("=")
            if not eq and (
                name in _HTTPIE_VALUES
                or (
                    len(name) > 3
                    and any(v.startswith(name) for v in _HTTPIE_VALUES if v.startswith("--"))
                )
            ):
                i += 1
        else:
            rest.append(w)
        i += 1
    if not rest:
        return
    first = rest[0].literal
    if first is not None and first.upper() in HTTP_METHODS and len(rest) >= 2:
        yield first.upper(), rest[1]
        return
    if rest[0].dynamic and len(rest) >= 2:
        yield None, rest[1]  # a computed method
    items = any(
        w.literal is not None and ("=" in w.literal or ":=" in w.literal or "@" in w.literal)
        for w in rest[1:]
    )
    yield ("POST" if items else "GET"), rest[0]
