"""HTTP-level edges: half-closed short bodies, garbage requests, idle keep-alive."""

from __future__ import annotations

import socket

from tests.support.chunked import Signer, now_amz


def _recv_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    out = b""
    while True:
        try:
            c = sock.recv(65536)
        except TimeoutError:
            break
        if not c:
            break
        out += c
    return out


def test_short_body_then_half_close_gets_incomplete_body(server, s3, bucket):  # type: ignore[no-untyped-def]
    signer = Signer(server.access_key, server.secret_key)
    headers = {"Host": f"127.0.0.1:{server.port}", "Content-Length": "1000"}
    signer.sign("PUT", f"/{bucket}/short", headers, "UNSIGNED-PAYLOAD", now_amz())
    req = f"PUT /{bucket}/short HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(req.encode() + b"x" * 10)
        sock.shutdown(socket.SHUT_WR)
        reply = _recv_all(sock)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"<Code>IncompleteBody</Code>" in reply
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_garbage_gets_xml_400_with_request_id(server):  # type: ignore[no-untyped-def]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GARBAGE\x01\x02 NOT HTTP\r\n\r\n")
        reply = _recv_all(sock)
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"x-amz-request-id:" in reply.lower()
    assert b"<Code>BadRequest</Code>" in reply
