"""A worker holds at most MAX_CONNECTIONS connections: past it the longest idle one is closed to make room, and a
new connection with none idle to close is answered 503 SlowDown at once."""

from __future__ import annotations

import selectors
import socket
from collections.abc import Iterator

import pytest

from s3d.server import http
from tests.support.rawhttp import call
from tests.support.server import S3dProcess

HOLD_TIMEOUT = 10.0


@pytest.fixture
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    proc = S3dProcess(tmp_path_factory.mktemp("s3d-conns") / "data", workers=1).start()
    yield proc
    proc.stop()


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=HOLD_TIMEOUT)
    return s


def _closed_by_server(held: list[socket.socket]) -> list[socket.socket]:
    """The held connections the server closed (readable, at end of stream), once any is."""
    with selectors.DefaultSelector() as sel:  # epoll: select() takes no descriptor past 1023
        for s in held:
            sel.register(s, selectors.EVENT_READ)
        readable = [key.fileobj for key, _ in sel.select(HOLD_TIMEOUT)]
    closed = []
    for s in readable:
        assert isinstance(s, socket.socket)
        try:
            if s.recv(1) == b"":
                closed.append(s)
        except ConnectionResetError:
            closed.append(s)
    return closed


def test_idle_connections_past_the_limit_make_room_for_new_ones(daemon: S3dProcess) -> None:
    held = [_connect(daemon.port) for _ in range(http.MAX_CONNECTIONS)]
    try:
        assert call(daemon, "GET", "/_s3d/health").status == 200  # the oldest idle one made room
        assert len(_closed_by_server(held)) == 1
        extra = [_connect(daemon.port) for _ in range(3)]
        assert call(daemon, "GET", "/_s3d/health").status == 200
        for s in extra:
            s.close()
    finally:
        for s in held:
            s.close()


class _Busy:
    """A connection in the middle of a request (what _make_room must not close)."""

    idle_since: float | None = None

    def _close(self) -> None:
        raise AssertionError("a busy connection was closed")


class _Idle:
    def __init__(self, since: float) -> None:
        self.idle_since: float | None = since
        self.closed = False

    def _close(self) -> None:
        self.closed = True


def test_room_is_made_only_by_closing_the_longest_idle_connection() -> None:
    older, newer = _Idle(1.0), _Idle(2.0)
    registry = {_Busy(), older, newer, _Busy()}
    assert http._make_room(registry)  # type: ignore[arg-type]
    assert older.closed and not newer.closed and older not in registry


def test_no_room_is_made_when_every_connection_is_busy() -> None:
    registry = {_Busy(), _Busy()}
    assert not http._make_room(registry)  # type: ignore[arg-type]
    assert len(registry) == 2
