"""The lanes a gateway serves: token → lane, protocol, candidates, deny list, prices.

Why a file and not only memory: the gateway is its own long-lived process, and a lane's
CLI holds its URL (with the token) for its whole life. When the gateway dies and is
restarted, it must accept the same tokens at the same port, so routes live in a private
JSON file (0600 in a 0700 dir) that `route_lane` writes and the server re-reads when it
changes. The token is the only thing that ties a request to a lane: it is drawn with
`secrets.token_urlsafe` and compared in constant time.
"""

from __future__ import annotations

import fnmatch
import hmac
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from laneboard.gateway.statefiles import atomic_private_json
from laneboard.harnesses.private_fs import ensure_private_dir


@dataclass(frozen=True)
class Candidate:
    """One model a lane's request may go to: where, which model, whose cooldown, price."""

    base_url: str
    model: str | None = None
    """Provider-side model id written into the request body; None: leave the body's."""
    profile: str = "default"
    """Provider profile whose cooldown this candidate shares."""
    cost: Mapping[str, float] | None = None
    """Prices per million tokens: input, output, cache_read."""
    provider: str | None = None
    """The config's provider id (a routed call compares it with the lane's own, see
    `gateway.route_auth`); None: unknown."""
    key_env: str | None = None
    """The variable holding this provider's key, read from the gateway's environment when
    a routed call or a fallback goes to it from another provider's lane."""
    keyless: bool = False
    """The provider takes no credential (a local Ollama)."""

    @classmethod
    def from_json(cls, c: Mapping[str, Any]) -> Candidate:
        return cls(str(c["base_url"]), c.get("model"), str(c.get("profile", "default")),
                   c.get("cost"), c.get("provider"), c.get("key_env"),
                   bool(c.get("keyless", False)))


@dataclass(frozen=True)
class ToolRoute:
    """Tools matching `patterns` are answered by `lane`'s models, in `candidates` order."""

    patterns: tuple[str, ...]
    lane: str
    candidates: tuple[Candidate, ...]
    home: str | None = None
    """The provider of the lane the route serves: its client's auth headers are that
    provider's credential, passed only to candidates of the same provider."""

    def matches(self, name: str) -> bool:
        key = name.casefold()
        return any(fnmatch.fnmatchcase(key, p.casefold()) for p in self.patterns)

    def as_json(self) -> dict[str, Any]:
        return {"patterns": list(self.patterns), "lane": self.lane,
                "candidates": [asdict(c) for c in self.candidates], "home": self.home}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ToolRoute:
        cands = tuple(Candidate.from_json(c) for c in raw["candidates"])
        home = raw.get("home")
        return cls(tuple(str(p) for p in raw["patterns"]), str(raw["lane"]), cands,
                   str(home) if home is not None else None)


@dataclass(frozen=True)
class LaneRoute:
    token: str
    lane: str
    harness: str
    candidates: tuple[Candidate, ...]
    strict: bool = False
    """A model the user picked: no failover, a failure is shown."""
    deny: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Known secret values (the provider key's value) redacted wherever they appear."""
    artifacts: str | None = None
    """The lane's artifact folder: each request becomes a `turn` artifact there."""
    tools: tuple[ToolRoute, ...] = ()
    """Per-tool routes (see `gateway.tool_routing`), first match wins."""

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = [asdict(c) for c in self.candidates]
        out["tools"] = [r.as_json() for r in self.tools]
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LaneRoute:
        cands = tuple(Candidate.from_json(c) for c in raw["candidates"])
        return cls(
            token=str(raw["token"]), lane=str(raw["lane"]), harness=str(raw["harness"]),
            candidates=cands, strict=bool(raw.get("strict", False)),
            deny=tuple(raw.get("deny", ())), secrets=tuple(raw.get("secrets", ())),
            artifacts=str(raw["artifacts"]) if raw.get("artifacts") else None,
            tools=tuple(ToolRoute.from_json(r) for r in raw.get("tools") or ()),
        )


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Registry:
    """Routes by token, re-read from `path` when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._routes: dict[str, LaneRoute] = {}

    def routes(self) -> dict[str, LaneRoute]:
        self._reload()
        return dict(self._routes)

    def find(self, token: str) -> LaneRoute | None:
        self._reload()
        for known, route in self._routes.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return route
        return None

    def by_lane(self, lane: str) -> LaneRoute | None:
        self._reload()
        return next((r for r in self._routes.values() if r.lane == lane), None)

    def _reload(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._routes, self._stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            routes = {r["token"]: LaneRoute.from_json(r) for r in raw.get("lanes", [])}
        except (OSError, ValueError, KeyError, TypeError):
            return  # a torn read cannot happen (atomic writes); keep the last good table
        self._routes, self._stamp = routes, stamp

    def put(self, route: LaneRoute) -> None:
        """Add or replace the route of `route.lane` (atomic write, 0600)."""
        self._reload()
        kept = [r for r in self._routes.values() if r.lane != route.lane]
        write_routes(self.path, [*kept, route])
        self._stamp = None


def write_routes(path: Path, routes: Sequence[LaneRoute]) -> None:
    ensure_private_dir(path.parent)
    atomic_private_json(path, {"lanes": [r.as_json() for r in routes]})
