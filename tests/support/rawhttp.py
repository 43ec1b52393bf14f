"""Hand-made S3 requests: signed with botocore's own SigV4 signers, sent with http.client or a raw socket.

boto3 validates and normalises what it sends; conformance tests need requests it would not make
(a wrong payload hash, a skewed clock, a virtual-hosted Host header on 127.0.0.1, a body cut short).
"""

from __future__ import annotations

import http.client
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    @property
    def error_code(self) -> str | None:
        """The <Code> of an S3 error document (or the x-amz-error-code header of a bodiless answer)."""
        if not self.body:
            return self.headers.get("x-amz-error-code")
        return self.xml().findtext("Code")


class _FixedTimeSigner(S3SigV4Auth):
    """botocore's S3 header signer with an optional fixed clock and payload hash."""

    def __init__(self, creds: Credentials, region: str, when: datetime | None, payload_hash: str | None) -> None:
        super().__init__(creds, "s3", region)
        self._when = when
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash if self._payload_hash is not None else str(super().payload(request))

    def add_auth(self, request: AWSRequest) -> None:
        when = self._when or datetime.now(UTC)
        request.context["timestamp"] = when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        sts = self.string_to_sign(request, self.canonical_request(request))
        self._inject_signature_to_request(request, self.signature(sts, request))


class _FixedTimeQuerySigner(S3SigV4QueryAuth):
    def __init__(self, creds: Credentials, region: str, expires: int, when: datetime | None) -> None:
        super().__init__(creds, "s3", region, expires=expires)
        self._when = when

    def add_auth(self, request: AWSRequest) -> None:
        when = self._when or datetime.now(UTC)
        request.context["timestamp"] = when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        sts = self.string_to_sign(request, self.canonical_request(request))
        self._inject_signature_to_request(request, self.signature(sts, request))


def _url(endpoint: str, path: str, query: str | dict[str, str], host: str | None) -> str:
    base = f"http://{host}" if host else endpoint
    qs = query if isinstance(query, str) else urlencode(query, quote_via=quote)
    return base + path + (f"?{qs}" if qs else "")


def sign(
    endpoint: str,
    method: str,
    path: str,
    *,
    access_key: str,
    secret_key: str,
    query: str | dict[str, str] = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str | None = None,
    payload_hash: str | None = None,
    when: datetime | None = None,
    region: str = REGION,
    content_length: bool = True,
) -> tuple[str, dict[str, str]]:
    """(request target, headers incl. Host and Authorization) for a header-signed request.

    ``path`` is sent as given (already percent-encoded). ``host`` replaces the endpoint's
    host:port in the signed Host header (virtual-hosted style); the request still goes to ``endpoint``.
    A PUT or POST gets a (signed) Content-Length unless ``content_length`` is False.
    """
    url = _url(endpoint, path, query, host)
    headers = dict(headers or {})
    if (
        content_length
        and (body or method in ("PUT", "POST"))
        and not any(k.lower() == "content-length" for k in headers)
    ):
        headers["Content-Length"] = str(len(body))
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    _FixedTimeSigner(Credentials(access_key, secret_key), region, when, payload_hash).add_auth(req)
    parts = urlsplit(url)
    out = {k: v for k, v in req.headers.items()}
    out["Host"] = parts.netloc
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target, out


def presign(
    endpoint: str,
    method: str,
    path: str,
    *,
    access_key: str,
    secret_key: str,
    expires: int = 3600,
    when: datetime | None = None,
    query: str | dict[str, str] = "",
    region: str = REGION,
) -> str:
    """A presigned URL (query-string SigV4) made by botocore's signer."""
    req = AWSRequest(method=method, url=_url(endpoint, path, query, None), data=b"", headers={})
    _FixedTimeQuerySigner(Credentials(access_key, secret_key), region, expires, when).add_auth(req)
    return str(req.url)


def send(endpoint: str, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> RawResponse:
    """Send one request with http.client exactly as given (Host header included) and read the answer."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body and not any(k.lower() == "content-length" for k in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        r = conn.getresponse()
        data = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def request(endpoint: str, method: str, path: str, **kw: object) -> RawResponse:
    """Sign (see ``sign``) and send a request; ``body`` is sent as signed."""
    body = kw.get("body", b"")
    assert isinstance(body, bytes)
    target, headers = sign(endpoint, method, path, **kw)  # type: ignore[arg-type]
    return send(endpoint, method, target, headers, body)


def get_url(url: str, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None) -> RawResponse:
    """Fetch a (presigned) URL with no signing of our own."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    h = {"Host": parts.netloc, **(headers or {})}
    if method in ("PUT", "POST"):
        h.setdefault("Content-Length", str(len(body)))
    return send(f"{parts.scheme}://{parts.netloc}", method, target, h, body)


def send_raw(port: int, data: bytes, *, shutdown_write: bool = True, timeout: float = 10.0) -> bytes:
    """Write bytes to the server over a fresh socket, optionally half-close, and read until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def head_bytes(method: str, target: str, headers: dict[str, str]) -> bytes:
    """The request line and headers of an HTTP/1.1 request, as they go on the wire."""
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Server(Protocol):
    endpoint: str
    port: int
    access_key: str
    secret_key: str


def call(server: Server, method: str, path: str, **kw: object) -> RawResponse:
    """``request`` against a test daemon, signed with its credentials unless others are given."""
    kw.setdefault("access_key", server.access_key)
    kw.setdefault("secret_key", server.secret_key)
    return request(server.endpoint, method, path, **kw)
