"""The HTTP server's limits and framing errors: every one answered with an S3 error and logged, none a silent close."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.rawhttp import call, head_bytes, send_raw, sign
from tests.support.server import S3dProcess

BUCKET = "framing"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    data = tmp_path_factory.mktemp("s3d-framing") / "data"
    proc = S3dProcess(data, workers=1, env_extra={"S3D_LOG_FORMAT": "json", "S3D_LOG_LEVEL": "debug"}).start()
    assert call(proc, "PUT", f"/{BUCKET}").status == 200
    yield proc
    proc.stop()


def _log(proc: S3dProcess) -> str:
    return (proc.data.parent / f"s3d-{proc.port}.log").read_text(errors="replace")


def _request_line(proc: S3dProcess, rid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        found = [
            d
            for d in (json.loads(ln) for ln in _log(proc).splitlines() if ln.startswith("{"))
            if d.get("request_id") == rid and d.get("logger") == "s3d.request"
        ]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, (rid, found)
            return found[0]
        time.sleep(0.05)


def _answers(reply: bytes) -> list[tuple[int, str | None, str]]:
    """(status, S3 error code, request id) of each response in a byte stream (bodies are small XML)."""
    out = []
    while reply:
        head, _, rest = reply.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        n = int(headers.get("content-length", "0"))
        body, reply = rest[:n], rest[n:]
        code = None
        if b"<Code>" in body:
            code = body.split(b"<Code>")[1].split(b"</Code>")[0].decode()
        out.append((status, code, headers.get("x-amz-request-id", "")))
    return out


def _signed_head(proc: S3dProcess, method: str, path: str, **kw: Any) -> bytes:
    target, headers = sign(
        proc.endpoint, method, path, access_key=proc.access_key, secret_key=proc.secret_key, **kw
    )  # fmt: skip
    return head_bytes(method, target, headers)


def _assert_refused_and_logged(proc: S3dProcess, reply: bytes, code: str) -> None:
    answers = _answers(reply)
    assert [(s, c) for s, c, _ in answers] == [(400, code)], reply[:300]
    line = _request_line(proc, answers[0][2])
    assert (line["status"], line["error_code"]) == (400, code)


def test_header_field_over_8_kib(daemon: S3dProcess) -> None:
    head = f"GET /{BUCKET} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 9000}\r\n\r\n".encode()
    _assert_refused_and_logged(daemon, send_raw(daemon.port, head), "RequestHeaderSectionTooLarge")


def test_request_target_over_8_kib(daemon: S3dProcess) -> None:
    head = f"GET /{BUCKET}/{'k' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    _assert_refused_and_logged(daemon, send_raw(daemon.port, head), "RequestHeaderSectionTooLarge")


def test_head_over_16_kib_in_small_headers(daemon: S3dProcess) -> None:
    many = "".join(f"X-H{i}: {'v' * 90}\r\n" for i in range(200))  # each small, ~20 KiB together
    head = f"GET /{BUCKET} HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()
    _assert_refused_and_logged(daemon, send_raw(daemon.port, head), "RequestHeaderSectionTooLarge")


def test_endless_head_is_cut_off(daemon: S3dProcess) -> None:
    """A head that never ends is answered once it passes the limit, not buffered for ever."""
    reply = b""
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.sendall(f"GET /{BUCKET} HTTP/1.1\r\nHost: x\r\n".encode())
        try:
            for _ in range(1000):  # up to ~10 MB, far past the limit; the daemon closes long before
                s.sendall(b"X-More: " + b"m" * 10_000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while c := s.recv(65536):
                reply += c
        except ConnectionResetError:
            pass
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in reply


def test_body_longer_than_content_length(daemon: S3dProcess) -> None:
    head = _signed_head(daemon, "PUT", f"/{BUCKET}/longer", body=b"12345")
    answers = _answers(send_raw(daemon.port, head + b"12345" + b"EXTRA BYTES"))
    assert [(s, c) for s, c, _ in answers] == [(200, None), (400, "BadRequest")]
    assert _request_line(daemon, answers[1][2])["error_code"] == "BadRequest"
    r = call(daemon, "GET", f"/{BUCKET}/longer")
    assert (r.status, r.body) == (200, b"12345")


def test_put_without_content_length(daemon: S3dProcess) -> None:
    head = _signed_head(daemon, "PUT", f"/{BUCKET}/nolength", payload_hash="UNSIGNED-PAYLOAD", content_length=False)
    answers = _answers(send_raw(daemon.port, head + b"some body bytes"))
    assert [(s, c) for s, c, _ in answers] == [(411, "MissingContentLength"), (400, "BadRequest")]
    assert _request_line(daemon, answers[0][2])["operation"] == "PutObject"
    assert call(daemon, "GET", f"/{BUCKET}/nolength").status == 404


def test_chunked_body_with_a_bad_chunk_size(daemon: S3dProcess) -> None:
    head = _signed_head(
        daemon, "PUT", f"/{BUCKET}/badchunk", payload_hash="UNSIGNED-PAYLOAD", content_length=False,
        headers={"Transfer-Encoding": "chunked"},
    )  # fmt: skip
    answers = _answers(send_raw(daemon.port, head + b"5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n"))
    assert [(s, c) for s, c, _ in answers] == [(400, "IncompleteBody")]
    line = _request_line(daemon, answers[0][2])
    assert (line["operation"], line["status"]) == ("PutObject", 400)
    assert call(daemon, "GET", f"/{BUCKET}/badchunk").status == 404


def test_client_leaving_mid_download_logs_one_line(daemon: S3dProcess) -> None:
    size = 8 << 20
    assert call(daemon, "PUT", f"/{BUCKET}/big", body=b"b" * size).status == 200
    before = _log(daemon)
    head = _signed_head(daemon, "GET", f"/{BUCKET}/big")
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(head)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.2)  # the daemon is now blocked on a full socket
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    deadline = time.monotonic() + 10
    while "went away" not in _log(daemon)[len(before) :] and time.monotonic() < deadline:
        time.sleep(0.05)
    new = _log(daemon)[len(before) :]
    assert "went away" in new
    assert "Traceback" not in new and "Task exception was never retrieved" not in new
    assert call(daemon, "GET", f"/{BUCKET}/big", headers={"Range": "bytes=0-3"}).body == b"bbbb"


def test_half_closed_client_is_answered_then_closed(daemon: S3dProcess) -> None:
    """A client that sent its request and half-closed gets the answer and then the end of the stream,
    not a connection held open (until the idle timeout) for requests that cannot come."""
    head = _signed_head(daemon, "PUT", f"/{BUCKET}/halfclosed", body=b"12345")
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=30) as s:
        s.sendall(head + b"12345")
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while c := s.recv(65536):  # TimeoutError if the daemon keeps the connection open
            reply += c
    assert [(st, c) for st, c, _ in _answers(reply)] == [(200, None)]


def test_upgrade_request_is_answered_as_http_1_1(daemon: S3dProcess) -> None:
    """curl --http2 on plain http asks to upgrade to h2c: s3d answers in HTTP/1.1 (and then closes)."""
    assert call(daemon, "PUT", f"/{BUCKET}/upgrade", body=b"plain").status == 200
    head = _signed_head(daemon, "GET", f"/{BUCKET}/upgrade", headers={"Connection": "Upgrade", "Upgrade": "h2c"})
    reply = send_raw(daemon.port, head, shutdown_write=False)
    assert [(st, c) for st, c, _ in _answers(reply)] == [(200, None)]
    assert reply.endswith(b"\r\n\r\nplain")
