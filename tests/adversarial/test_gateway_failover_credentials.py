"""Promise under attack: when a lane's provider A fails (429) and the gateway fails over
inside the request to a fallback model on provider B, B never receives the lane's key
for A — B gets its own key from the gateway's environment, and nothing else that
authorises or identifies.

The lane's client sends its key A every way a client might (x-api-key, Authorization,
api-key, x-goog-api-key, a cookie, an organisation header) and in its prompt. The
gateway is a real process; both providers are real stand-in HTTP servers that record
every byte they receive. When B's key is not in the gateway's environment (or B is an
unknown provider naming no key), B gets no request at all, the skip is counted and
logged naming the variable (never a value), and the client gets a clean error in its
own protocol saying why. A control fallback on A's own provider shows the caller's
headers do pass there (so the recording would have seen a leak).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from laneboard.gateway.client import GatewayInfo, route_lane
from laneboard.gateway.statefiles import USAGE
from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import PROTOS, gateway_with_env
from tests.fixtures.tmux import wait_until

KEY_A = "sk-provider-A-lane-key-1a2b3c4d5e6f7788"
KEY_B = "sk-provider-B-own-key-99aa88bb77cc66dd"
UNSET = "LB_ADV_FO_UNSET_KEY"

def _body(proto: str, stream: bool = False) -> dict[str, Any]:
    prompt = f"my key is {KEY_A}; say hello"
    if proto == "anthropic":
        return {"model": "a-1", "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": prompt}]}
    if proto == "responses":
        return {"model": "a-1", "stream": stream, "input": prompt}
    return {"model": "a-1", "stream": stream, "messages": [{"role": "user", "content": prompt}]}


def _post(url: str, proto: str, stream: bool = False) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers) of the client's request carrying key A every way."""
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY_A}",
               "x-api-key": KEY_A, "api-key": KEY_A, "x-goog-api-key": KEY_A,
               "cookie": f"session={KEY_A}", "openai-organization": KEY_A,
               "anthropic-version": "2023-06-01"}
    req = urllib.request.Request(url, data=json.dumps(_body(proto, stream)).encode(),
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def _route(info: GatewayInfo, proto: str, a: StandinServer,
           fallbacks: list[dict[str, Any]], provider: str | None = "provA") -> str:
    harness, path, attr = PROTOS[proto]
    base = route_lane(info, "lane", harness, {
        "base_url": getattr(a, attr), "model": "a-1", "profile": "A", "provider": provider,
        "key_env": "LB_ADV_FO_A_KEY", "secrets": [KEY_A], "fallbacks": fallbacks,
    })
    return base + path


def _usage(folder: Path, requests: int) -> dict[str, Any]:
    """The lane's counts once the gateway saved its `requests`-th request (it saves after
    the response has gone out, so a client may read the answer first)."""
    def saved() -> dict[str, Any] | None:
        try:
            lane = json.loads((folder / USAGE).read_text())["lane"]
        except (OSError, ValueError, KeyError):
            return None
        return lane if lane.get("requests") == requests else None

    wait_until(lambda: saved() is not None, timeout=30)
    got = saved()
    assert got is not None
    return got


def _leaks(server: StandinServer) -> list[str]:
    out = []
    for r in server.requests:
        if KEY_A.encode() in r.raw:
            out.append(f"body of {r.path}")
        out += [f"header {k}" for k, v in r.headers.items() if KEY_A in v]
    return out


def _fallback(server: StandinServer, proto: str, **extra: Any) -> dict[str, Any]:
    return {"base_url": getattr(server, PROTOS[proto][2]), "model": "b-1", "profile": "B",
            **extra}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("proto", list(PROTOS))
def test_failover_to_another_provider_carries_only_its_own_key(
    tmp_path: Path, proto: str, stream: bool
) -> None:
    folder = tmp_path / "gw"
    with StandinServer() as a, StandinServer() as b, \
            gateway_with_env(folder, {"LB_ADV_FO_B_KEY": KEY_B}, unset=(UNSET,)) as info:
        a.script(Reply.error(429, "A is rate limited", retry_after=60))
        b.script(Reply.text("hello_from_B"))
        url = _route(info, proto, a, [_fallback(b, proto, provider="provB",
                                                key_env="LB_ADV_FO_B_KEY")])
        status, answer, _ = _post(url, proto, stream)
        assert status == 200 and "hello_from_B" in answer, (status, answer)
        assert len(b.requests) == 1
        assert _leaks(b) == []
        got = b.requests[0].headers
        if proto == "anthropic":
            assert got.get("x-api-key") == KEY_B and "authorization" not in got
        else:
            assert got.get("authorization") == f"Bearer {KEY_B}" and "x-api-key" not in got
        for h in ("api-key", "x-goog-api-key", "cookie", "openai-organization"):
            assert h not in got, h
        assert json.loads(b.requests[0].raw)["model"] == "b-1"
        # the lane's own provider got the client's headers untouched
        assert a.requests[0].headers.get("x-api-key") == KEY_A
        usage = _usage(folder, 1)
        assert usage["fallbacks"] == 1 and usage["failover_skipped"] == 0


@pytest.mark.parametrize("proto", list(PROTOS))
def test_no_key_for_the_other_provider_skips_it_and_the_client_is_told_why(
    tmp_path: Path, proto: str
) -> None:
    folder = tmp_path / "gw"
    with StandinServer() as a, StandinServer() as b, StandinServer() as c, \
            gateway_with_env(folder, {}, unset=(UNSET,)) as info:
        a.script(Reply.error(429, "A is rate limited", retry_after=7),
                 Reply.error(429, "A is rate limited", retry_after=7))
        b.script(Reply.text("hello_from_B"))
        c.script(Reply.text("hello_from_C"))
        # B names a key variable the gateway's environment lacks; C is an unknown
        # provider naming no key at all
        url = _route(info, proto, a, [
            _fallback(b, proto, provider="provB", key_env=UNSET),
            _fallback(c, proto),
        ])
        status, answer, headers = _post(url, proto)
        assert status == 429, (status, answer)
        assert f"${UNSET}" in answer and "no fallback left" in answer, answer
        assert "names no api_key_env" in answer, answer
        assert KEY_A not in answer
        assert headers.get("Retry-After") == "7"
        err = json.loads(answer)
        if proto == "anthropic":
            assert err["type"] == "error" and "message" in err["error"], err
        else:
            assert "message" in err["error"], err
        assert b.requests == [] and c.requests == []
        # a streamed request: the same clean error, before any stream starts
        status, answer, _ = _post(url, proto, stream=True)
        assert status == 429 and f"${UNSET}" in answer, (status, answer)
        assert b.requests == [] and c.requests == []
        usage = _usage(folder, 2)
        assert usage["failover_skipped"] == 4, usage
        log = (folder / "gateway.log").read_text()
        assert log.count("failover candidate skipped") == 4, log
        assert f"${UNSET}" in log
        for f in (folder / "gateway.log", folder / USAGE):
            assert KEY_A.encode() not in f.read_bytes(), f


def test_a_skipped_fallback_moves_on_to_the_next_with_a_key(tmp_path: Path) -> None:
    """B has no key: skipped, never asked; D (another provider with its key) answers."""
    folder = tmp_path / "gw"
    with StandinServer() as a, StandinServer() as b, StandinServer() as d, \
            gateway_with_env(folder, {"LB_ADV_FO_B_KEY": KEY_B}, unset=(UNSET,)) as info:
        a.script(Reply.error(503, "A is down"))
        d.script(Reply.text("hello_from_D"))
        url = _route(info, "chat", a, [
            _fallback(b, "chat", provider="provB", key_env=UNSET),
            _fallback(d, "chat", provider="provD", key_env="LB_ADV_FO_B_KEY"),
        ])
        status, answer, _ = _post(url, "chat")
        assert status == 200 and "hello_from_D" in answer, (status, answer)
        assert b.requests == [] and len(d.requests) == 1 and _leaks(d) == []


def test_unreachable_primary_and_no_key_left_is_a_clean_502(tmp_path: Path) -> None:
    folder = tmp_path / "gw"
    with StandinServer() as b, gateway_with_env(folder, {}, unset=(UNSET,)) as info:
        dead = StandinServer()
        dead.start()
        dead_url = dead.openai_base_url
        dead.stop()  # nothing listens there any more: the primary is unreachable
        harness, path, _ = PROTOS["chat"]
        url = route_lane(info, "lane", harness, {
            "base_url": dead_url, "provider": "provA",
            "fallbacks": [_fallback(b, "chat", provider="provB", key_env=UNSET)],
        }) + path
        status, answer, _ = _post(url, "chat")
        assert status == 502, (status, answer)
        assert "unreachable" in answer and f"${UNSET}" in answer, answer
        assert b.requests == []


def test_control_same_provider_fallback_gets_the_callers_headers(tmp_path: Path) -> None:
    """Control: a fallback on the lane's own provider gets the client's auth untouched
    (the recording sees it, so the tests above would see a leak)."""
    with StandinServer() as a, StandinServer() as same, \
            gateway_with_env(tmp_path / "gw", {}, unset=(UNSET,)) as info:
        a.script(Reply.error(429, "A is rate limited"))
        same.script(Reply.text("hello from A's other model"))
        url = _route(info, "chat", a, [_fallback(same, "chat", provider="provA")])
        status, answer, _ = _post(url, "chat")
        assert status == 200 and "other model" in answer, (status, answer)
        got = same.requests[0].headers
        assert got.get("authorization") == f"Bearer {KEY_A}"
        assert got.get("x-api-key") == KEY_A


def test_a_lane_of_unknown_provider_never_hands_its_key_to_a_fallback(tmp_path: Path) -> None:
    """A lane registered without a provider: even a fallback claiming a provider gets
    no caller header (unknown counts as another provider)."""
    with StandinServer() as a, StandinServer() as b, \
            gateway_with_env(tmp_path / "gw", {"LB_ADV_FO_B_KEY": KEY_B}, unset=(UNSET,)) as info:
        a.script(Reply.error(429, "A is rate limited"))
        b.script(Reply.text("hello_from_B"))
        url = _route(info, "chat", a, [_fallback(b, "chat", provider="provA",
                                                 key_env="LB_ADV_FO_B_KEY")],
                     provider=None)
        status, answer, _ = _post(url, "chat")
        assert status == 200, (status, answer)
        assert _leaks(b) == []
        assert b.requests[0].headers.get("authorization") == f"Bearer {KEY_B}"
