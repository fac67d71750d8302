"""Promise under attack: a lane's key for provider A never reaches provider B's endpoint
when the gateway routes one of the lane's tool calls to a model of provider B.

The lane's client sends its key A every way a client might (x-api-key, Authorization,
api-key, x-goog-api-key, a cookie, an organisation header) and in its prompt. The
gateway is a real process; both providers are real stand-in HTTP servers that record
every byte they receive. The routed call to B must carry B's key from the gateway's own
environment (B's `api_key_env`), nothing of A's. When B's key is not in the gateway's
environment (or B is unknown), B gets no request at all, the primary's call stands, and
the gateway counts and logs 'route skipped: no credential' without the key. A control
route to A's own provider shows the caller's headers do pass there untouched (so the
recording would have seen a leak).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from laneboard.gateway.client import GatewayInfo, route_lane
from laneboard.gateway.statefiles import USAGE
from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import PROTOS, gateway_with_env

KEY_A = "sk-provider-A-lane-key-9f8e7d6c5b4a3210"
KEY_B = "sk-provider-B-own-key-0a1b2c3d4e5f6789"
TOOL = "exec_command"

def _body(proto: str) -> dict[str, Any]:
    prompt = f"my key is {KEY_A}; write the file"
    params = {"type": "object", "properties": {"cmd": {"type": "string"}}}
    if proto == "anthropic":
        return {"model": "a-1", "max_tokens": 64, "stream": False,
                "messages": [{"role": "user", "content": prompt}],
                "tools": [{"name": TOOL, "input_schema": params}]}
    if proto == "responses":
        return {"model": "a-1", "stream": False, "input": prompt,
                "tools": [{"type": "function", "name": TOOL, "parameters": params}]}
    return {"model": "a-1", "stream": False, "messages": [{"role": "user", "content": prompt}],
            "tools": [{"type": "function", "function": {"name": TOOL, "parameters": params}}]}


def _post(url: str, proto: str) -> str:
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY_A}",
               "x-api-key": KEY_A, "api-key": KEY_A, "x-goog-api-key": KEY_A,
               "cookie": f"session={KEY_A}", "openai-organization": KEY_A,
               "anthropic-version": "2023-06-01"}
    req = urllib.request.Request(url, data=json.dumps(_body(proto)).encode(),
                                 headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200
        return str(resp.read().decode())


def _call(cmd: str) -> Reply:
    return Reply.tool_call(TOOL, {"cmd": cmd}, call_id="c1", function=True)


def _route(info: GatewayInfo, proto: str, a: StandinServer, cands: list[dict[str, Any]],
           home: str | None = "provA") -> str:
    harness, path, attr = PROTOS[proto]
    base = route_lane(info, "lane", harness, {
        "base_url": getattr(a, attr), "secrets": [KEY_A],
        "tools": [{"patterns": [TOOL], "lane": "writer", "home": home, "candidates": cands}],
    })
    return base + path


def _leaks(server: StandinServer) -> list[str]:
    out = []
    for r in server.requests:
        if KEY_A.encode() in r.raw:
            out.append(f"body of {r.path}")
        out += [f"header {k}" for k, v in r.headers.items() if KEY_A in v]
    return out


@pytest.mark.parametrize("proto", list(PROTOS))
def test_lane_key_never_reaches_another_provider(tmp_path: Path, proto: str) -> None:
    attr = PROTOS[proto][2]
    with StandinServer() as a, StandinServer() as b, \
            gateway_with_env(tmp_path / "gw", {"LB_ADV_B_KEY": KEY_B}) as info:
        a.script(_call("touch primary.txt"))
        b.script(_call("touch routed.txt"))
        url = _route(info, proto, a, [{"base_url": getattr(b, attr), "model": "b-1",
                                       "provider": "provB", "key_env": "LB_ADV_B_KEY"}])
        answer = _post(url, proto)
        assert "routed.txt" in answer and "primary.txt" not in answer, answer
        assert len(b.requests) == 1
        assert _leaks(b) == []
        got = b.requests[0].headers
        if proto == "anthropic":
            assert got.get("x-api-key") == KEY_B and "authorization" not in got
        else:
            assert got.get("authorization") == f"Bearer {KEY_B}" and "x-api-key" not in got
        for h in ("api-key", "x-goog-api-key", "cookie", "openai-organization"):
            assert h not in got, h
        # the lane's own provider got the client's headers untouched (no body copy: redacted)
        assert a.requests[0].headers.get("x-api-key") == KEY_A
        assert KEY_A.encode() not in a.requests[0].raw


@pytest.mark.parametrize("proto", list(PROTOS))
def test_no_credential_for_the_other_provider_keeps_the_primary_call(
    tmp_path: Path, proto: str
) -> None:
    attr = PROTOS[proto][2]
    folder = tmp_path / "gw"
    with StandinServer() as a, StandinServer() as b, StandinServer() as c, \
            gateway_with_env(folder, {}) as info:
        a.script(_call("touch primary.txt"), _call("touch primary.txt"))
        b.script(_call("touch routed.txt"))
        c.script(_call("touch routed.txt"))
        # B names a key variable the gateway's environment lacks
        url = _route(info, proto, a, [{"base_url": getattr(b, attr), "model": "b-1",
                                       "provider": "provB", "key_env": "LB_ADV_UNSET_KEY"}])
        answer = _post(url, proto)
        assert "primary.txt" in answer and "routed.txt" not in answer, answer
        assert b.requests == []
        # C's provider is unknown on both sides and names no key: never the lane's key
        url = _route(info, proto, a, [{"base_url": getattr(c, attr), "model": "c-1"}],
                     home=None)
        answer = _post(url, proto)
        assert "primary.txt" in answer and "routed.txt" not in answer, answer
        assert c.requests == []
        usage = json.loads((folder / USAGE).read_text())
        assert usage["lane"]["routes_skipped"] == 2
        log = (folder / "gateway.log").read_text()
        assert log.count("route skipped: no credential") == 2, log
        # neither the log nor the counts hold the key (routes.json, 0600, holds it by
        # design: the known secret values the redactor replaces)
        for f in (folder / "gateway.log", folder / USAGE):
            assert KEY_A.encode() not in f.read_bytes(), f


def test_same_provider_passes_the_callers_headers_and_a_keyless_candidate_is_skipped_over(
    tmp_path: Path,
) -> None:
    """Control: to the lane's own provider the caller's auth goes through untouched (the
    recording sees it, so the tests above would see a leak); a chain whose first
    candidate has no credential moves on to the next that has one."""
    with StandinServer() as a, StandinServer() as same, StandinServer() as nokey, \
            StandinServer() as b, gateway_with_env(tmp_path / "gw", {"LB_ADV_B_KEY": KEY_B}) as info:
        a.script(_call("touch primary.txt"), _call("touch primary.txt"))
        same.script(_call("touch routed.txt"))
        b.script(_call("touch routed.txt"))
        url = _route(info, "chat", a, [{"base_url": same.openai_base_url, "model": "a-2",
                                        "provider": "provA"}])
        assert "routed.txt" in _post(url, "chat")
        assert same.requests[0].headers.get("authorization") == f"Bearer {KEY_A}"
        assert same.requests[0].headers.get("x-api-key") == KEY_A

        url = _route(info, "chat", a, [
            {"base_url": nokey.openai_base_url, "model": "n-1", "provider": "provN",
             "key_env": "LB_ADV_UNSET_KEY"},
            {"base_url": b.openai_base_url, "model": "b-1", "provider": "provB",
             "key_env": "LB_ADV_B_KEY"},
        ])
        assert "routed.txt" in _post(url, "chat")
        assert nokey.requests == [] and len(b.requests) == 1 and _leaks(b) == []
