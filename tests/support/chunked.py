"""Build aws-chunked request bodies (signed, unsigned-trailer, signed-trailer) and send them raw.

An independent SigV4 implementation for tests: it follows the AWS documents,
not s3d's code, so a shared misunderstanding cannot hide a bug.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
from dataclasses import dataclass
from urllib.parse import quote

EMPTY = hashlib.sha256(b"").hexdigest()
READ_TIMEOUT = 30.0  # less than the 60 s the server waits for a body: an answer owed before the body comes


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


@dataclass
class Signer:
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def key(self, date: str) -> bytes:
        k = _hmac(("AWS4" + self.secret_key).encode(), date)
        for part in (self.region, "s3", "aws4_request"):
            k = _hmac(k, part)
        return k

    def sign(self, method: str, path: str, headers: dict[str, str], payload_hash: str, amz_date: str) -> str:
        """Adds x-amz-date/x-amz-content-sha256/Authorization to headers; returns the seed signature."""
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        names = sorted(h.lower() for h in headers)
        lower = {k.lower(): v for k, v in headers.items()}
        canon_headers = "".join(f"{n}:{lower[n].strip()}\n" for n in names)
        creq = "\n".join([method, quote(path, safe="/~"), "", canon_headers, ";".join(names), payload_hash])
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
        sig = hmac.new(self.key(amz_date[:8]), sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={sig}"
        )
        return sig

    def chunk_signature(self, amz_date: str, prev: str, data: bytes) -> str:
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY, hashlib.sha256(data).hexdigest()])
        return hmac.new(self.key(amz_date[:8]), sts.encode(), hashlib.sha256).hexdigest()

    def trailer_signature(self, amz_date: str, prev: str, trailer: str) -> str:
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        sts = "\n".join(
            ["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, hashlib.sha256(trailer.encode()).hexdigest()]
        )
        return hmac.new(self.key(amz_date[:8]), sts.encode(), hashlib.sha256).hexdigest()


def now_amz() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def encode(
    data: bytes,
    *,
    mode: str,
    signer: Signer,
    amz_date: str,
    seed: str,
    chunk_sizes: list[int],
    trailer: tuple[str, str] | None = None,
    corrupt_chunk: int | None = None,
    corrupt_trailer_signature: bool = False,
) -> bytes:
    """``data`` as an aws-chunked body: chunks of the given sizes (the last one repeats), the final empty
    chunk, the trailer if any; chunk and trailer signatures chained from ``seed`` in signed modes."""
    signed = mode.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    pieces, at = [], 0
    while at < len(data):
        size = chunk_sizes[min(len(pieces), len(chunk_sizes) - 1)]
        pieces.append(data[at : at + size])
        at += size
    out = bytearray()
    prev = seed
    for n, piece in enumerate([*pieces, b""]):
        if signed:
            sig = signer.chunk_signature(amz_date, prev, piece)
            prev = sig
            if corrupt_chunk == n:
                sig = "0" * 64
            out += f"{len(piece):x};chunk-signature={sig}\r\n".encode()
        else:
            out += f"{len(piece):x}\r\n".encode()
        if piece:
            out += piece + b"\r\n"
    if trailer:
        line = f"{trailer[0]}:{trailer[1]}"
        out += (line + "\r\n").encode()
        if signed:
            tsig = signer.trailer_signature(amz_date, prev, line + "\n")
            if corrupt_trailer_signature:
                tsig = "f" * 64
            out += f"x-amz-trailer-signature:{tsig}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def chunked_headers(
    signer: Signer,
    host: str,
    port: int,
    path: str,
    *,
    mode: str,
    decoded_length: int,
    trailer_name: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[dict[str, str], str, str]:
    """The signed headers of an aws-chunked PUT, its x-amz-date and its seed signature."""
    amz_date = now_amz()
    headers = {
        "Host": f"{host}:{port}",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(decoded_length),
        **(extra_headers or {}),
    }
    if trailer_name:
        headers["x-amz-trailer"] = trailer_name
    seed = signer.sign("PUT", path, headers, mode, amz_date)
    return headers, amz_date, seed


def send_body(
    host: str, port: int, path: str, headers: dict[str, str], wire: bytes, *, content_length: int | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """PUT ``wire`` with the given headers; Content-Length is its length unless given (the rest is never sent,
    so an answer must come before it)."""
    conn = http.client.HTTPConnection(host, port, timeout=READ_TIMEOUT)
    try:
        length = len(wire) if content_length is None else content_length
        conn.request("PUT", path, body=wire, headers={**headers, "Content-Length": str(length)})
        r = conn.getresponse()
        return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


def put_chunked(
    host: str,
    port: int,
    signer: Signer,
    path: str,
    data: bytes,
    *,
    mode: str,
    chunk_size: int = 64 * 1024,
    trailer: tuple[str, str] | None = None,
    corrupt_chunk: int | None = None,
    corrupt_trailer_signature: bool = False,
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """PUT data as an aws-chunked body in the given x-amz-content-sha256 mode; returns (status, body, headers)."""
    headers, amz_date, seed = chunked_headers(
        signer, host, port, path, mode=mode, decoded_length=len(data),
        trailer_name=trailer[0] if trailer else None, extra_headers=extra_headers,
    )  # fmt: skip
    wire = encode(
        data, mode=mode, signer=signer, amz_date=amz_date, seed=seed, chunk_sizes=[chunk_size], trailer=trailer,
        corrupt_chunk=corrupt_chunk, corrupt_trailer_signature=corrupt_trailer_signature,
    )  # fmt: skip
    return send_body(host, port, path, headers, wire)
