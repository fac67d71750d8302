"""A client that hangs up on the stand-in server is normal (an agent CLI killed mid-stream, a
keep-alive connection reset between requests): the server says so in its debug log and
prints no traceback, so a passing test run is not littered with ConnectionResetError."""

from __future__ import annotations

import re
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.tmux import wait_until


@pytest.fixture
def standin_process(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`python -m laneboard.standins -v` as its own process; yields (port, stderr file)."""
    err = tmp_path / "stderr"
    out = tmp_path / "stdout"
    with err.open("wb") as e, out.open("wb") as o:
        proc = subprocess.Popen(
            [sys.executable, "-m", "laneboard.standins", "--port", "0", "-v"], stdout=o, stderr=e
        )
    try:
        wait_until(lambda: "stand-in on http://" in out.read_text(), timeout=30)
        match = re.search(r"127\.0\.0\.1:(\d+)", out.read_text())
        assert match, out.read_text()
        yield int(match.group(1)), err
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a TCP RST (ECONNRESET), as after a kill -9."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _request(port: int, raw: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(raw)
    return sock


def test_reset_between_and_inside_requests_prints_no_traceback(
    standin_process: tuple[int, Path],
) -> None:
    port, err = standin_process
    # 1. keep-alive: one full request and its answer, then a reset while the server waits
    #    for the next request line (where socketserver used to print the traceback)
    sock = _request(port, b"GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    assert got.startswith(b"HTTP/1.1 200")
    _reset(sock)
    # 2. a body promised and never sent: the reset lands while the server reads the body
    #    (`Expect: 100-continue` makes the server say it has read the headers first)
    sock = _request(
        port,
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
        b"Expect: 100-continue\r\n\r\n",
    )
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    assert got.startswith(b"HTTP/1.1 100"), got
    sock.sendall(b'{"mo')
    _reset(sock)

    try:
        wait_until(lambda: err.read_text().count("went away") >= 2, timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; stderr:\n{err.read_text()}") from None
    text = err.read_text()
    assert "Traceback" not in text, text
    assert "ConnectionResetError" in text  # named once each, in the debug lines
    assert "Exception occurred during processing" not in text
