"""Signed requests to the daemon without botocore's per-call machinery: ranged GETs on kept-alive connections
(one per thread) and PutObject of a staged file with sendfile(2).

botocore spends milliseconds of CPU per call (events, retries, response parsing) and signs the SHA-256 of every
payload it sends over plain HTTP, in 4 KiB writes; for the mount's two hot calls that is most of their cost.
Here each request is signed by hand (`sigv4_headers`, checked against botocore's signer in the tests; the body as
UNSIGNED-PAYLOAD: uploads carry a CRC32C checksum the daemon verifies before it stores anything), and http.client
carries it. Errors come back as botocore ClientErrors,
so errors.py maps them like every other call.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from s3d.mount.errors import MountError
from s3d.s3 import auth

log = logging.getLogger("s3d.mount")
CHUNK = 4 * 1024 * 1024
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
META_PREFIX = "x-amz-meta-"
RETRIES = 1  # a kept-alive connection the daemon closed meanwhile is opened again, once
IDLE_MAX = 32  # kept-alive connections kept for reuse
EPOCH = "1970-01-01T00:00:00Z"


def crc32c(path: Path, offset: int = 0, size: int | None = None) -> str:
    """The CRC32C (base64, as S3 sends it) of `size` bytes of the file from `offset` on (all of it by default)."""
    from awscrt import checksums

    crc = 0
    with open(path, "rb", buffering=0) as f:
        if size is None:
            size = max(os.fstat(f.fileno()).st_size - offset, 0)
        buf = bytearray(max(min(CHUNK, size), 1))  # a small file's PUT does not zero 4 MiB first
        with memoryview(buf) as view:
            f.seek(offset)
            left = size
            while left > 0:
                n = f.readinto(view[: min(len(buf), left)])
                if not n:
                    break
                crc = checksums.crc32c(view[:n], crc)
                left -= n
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def crc32c_of(data: bytes) -> str:
    from awscrt import checksums

    return base64.b64encode(checksums.crc32c(data).to_bytes(4, "big")).decode()


class Requests:
    def __init__(self, client: Any, timeout: float) -> None:
        self._client = client
        self._endpoint = str(client.meta.endpoint_url).rstrip("/")
        self._url = urlsplit(self._endpoint)
        self._timeout = timeout
        self._idle: list[http.client.HTTPConnection] = []  # kept-alive connections no request uses
        self._lock = threading.Lock()

    def _connection(self, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """A kept-alive connection if one is idle (and not `fresh`), else a new one; and whether it was reused."""
        if not fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        cls = http.client.HTTPSConnection if self._url.scheme == "https" else http.client.HTTPConnection
        return cls(self._url.hostname or "", self._url.port, timeout=self._timeout), False

    def _done_with(self, conn: http.client.HTTPConnection) -> None:
        """A connection whose last answer was read whole: kept for the next request."""
        with self._lock:
            if len(self._idle) < IDLE_MAX:
                self._idle.append(conn)
                return
        conn.close()

    def _signed(self, method: str, target: str, headers: dict[str, str]) -> dict[str, str]:
        credentials = self._client._request_signer._credentials.get_frozen_credentials()
        region = self._client.meta.region_name  # the daemon's: it refuses a signature naming another
        return sigv4_headers(method, self._url.netloc, target, headers, credentials, region, time.time())

    def get_range_into(self, bucket: str, key: str, start: int, etag: str, outs: list[memoryview]) -> None:
        """Fill `outs`, in order, with the bytes of bucket/key from `start` on, while its ETag is `etag` (else
        PreconditionFailed): the body goes from the socket straight into them."""
        target = _target(bucket, key)
        end = start + sum(len(out) for out in outs)
        headers = {"Range": f"bytes={start}-{end - 1}", "If-Match": etag, "x-amz-content-sha256": UNSIGNED_PAYLOAD}
        for attempt in range(RETRIES + 1):
            conn, _ = self._connection(fresh=attempt > 0)
            try:
                conn.request("GET", target, headers=self._signed("GET", target, headers))
                response = conn.getresponse()
                if response.status not in (http.client.OK, http.client.PARTIAL_CONTENT):
                    error = _client_error(response.read(), response.status, "GetObject")
                    self._done_with(conn)
                    raise error
                _body_into(response, outs)
                self._done_with(conn)
                return
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if attempt < RETRIES and not isinstance(e, TimeoutError):
                    continue
                log.error("GET %s/%s: no answer from %s: %s", bucket, key, self._endpoint, e)
                raise MountError(errno.EIO) from None
        raise MountError(errno.EIO)  # not reached: the loop returns or raises

    def list_page(
        self, bucket: str, prefix: str, delimiter: str, token: str | None, max_keys: int | None = None
    ) -> ListPage:
        """One page of ListObjectsV2 (keys URL-encoded on the wire, decoded here)."""
        query = {"list-type": "2", "prefix": prefix, "delimiter": delimiter, "encoding-type": "url"}
        if max_keys is not None:
            query["max-keys"] = str(max_keys)
        if token is not None:
            query["continuation-token"] = token
        target = f"/{quote(bucket)}?" + urlencode(sorted(query.items()), quote_via=quote, safe="-_.~")
        headers = {"x-amz-content-sha256": UNSIGNED_PAYLOAD}
        for attempt in range(RETRIES + 1):
            conn, _ = self._connection(fresh=attempt > 0)
            try:
                conn.request("GET", target, headers=self._signed("GET", target, headers))
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if attempt < RETRIES and not isinstance(e, TimeoutError):
                    continue
                log.error("LIST %s/%s: no answer from %s: %s", bucket, prefix, self._endpoint, e)
                raise MountError(errno.EIO) from None
            self._done_with(conn)
            if response.status != http.client.OK:
                raise _client_error(body, response.status, "ListObjectsV2")
            return _list_page(body)
        raise MountError(errno.EIO)  # not reached: the loop returns or raises

    def put_file(self, bucket: str, key: str, source: Path | bytes, size: int, meta: dict[str, str]) -> str:
        """PUT the file (or the bytes) as bucket/key; returns the ETag once the daemon has it durably."""
        extra = {META_PREFIX + k: v for k, v in meta.items()}
        return self.put_range(bucket, key, source, 0, size, extra, "", "PutObject")[0]

    def put_range(
        self,
        bucket: str,
        key: str,
        source: Path | bytes,  # a file, or (offset 0) the bytes themselves
        offset: int,
        size: int,
        extra: dict[str, str],
        query: str,
        operation: str,
        crc: str | None = None,  # the range's CRC32C if known, else computed here
    ) -> tuple[str, str]:
        """PUT bytes [offset, offset + size) of the file (to bucket/key, with `query`: a part of an upload) with a
        CRC32C the daemon checks; returns (ETag, that CRC32C) once the daemon has them durably.

        A kept-alive connection the daemon closed meanwhile fails before any answer: the same request is then sent
        again on a new one (a PUT of the same bytes is the same object or part)."""
        target = _target(bucket, key) + (f"?{query}" if query else "")
        crc = crc or (crc32c_of(source) if isinstance(source, bytes) else crc32c(source, offset, size))
        headers = {
            "Content-Length": str(size),
            "x-amz-content-sha256": UNSIGNED_PAYLOAD,
            "x-amz-checksum-crc32c": crc,
            **extra,
        }
        for attempt in range(RETRIES + 1):
            conn, reused = self._connection(fresh=attempt > 0)
            try:
                conn.putrequest("PUT", target, skip_host=True, skip_accept_encoding=True)  # signed: Host
                for name, value in self._signed("PUT", target, headers).items():
                    conn.putheader(name, value)
                if isinstance(source, bytes):
                    conn.endheaders(source)  # head and body in one send
                else:
                    conn.endheaders()
                    self._send_file(conn, source, offset, size)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if reused and not isinstance(e, TimeoutError):
                    continue
                log.error("PUT %s/%s: no answer from %s: %s", bucket, key, self._endpoint, e)
                raise MountError(errno.EIO) from None
            if response.status != http.client.OK:
                conn.close()
                raise _client_error(body, response.status, operation)
            self._done_with(conn)
            return response.getheader("ETag") or "", crc
        raise MountError(errno.EIO)  # not reached: the loop returns or raises

    def _send_file(self, conn: http.client.HTTPConnection, path: Path, offset: int, size: int) -> None:
        try:
            with open(path, "rb") as f:
                if size and self._url.scheme == "https":
                    f.seek(offset)
                    left = size
                    while left and (chunk := f.read(min(CHUNK, left))):
                        conn.sock.sendall(chunk)
                        left -= len(chunk)
                elif size:
                    conn.sock.sendfile(f, offset, size)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may have answered before reading it all (507, 403...): its answer says why


def sigv4_headers(
    method: str, host: str, target: str, headers: dict[str, str], credentials: Any, region: str, now: float
) -> dict[str, str]:
    """`headers` with host, x-amz-date and a SigV4 Authorization signing all of them, the declared
    x-amz-content-sha256 taken as is; `target` is the path (URI-encoded as sent) and query.

    By hand, with the daemon's own key derivation (cached per day): botocore's signer builds an AWSRequest and
    derives the key again for every call, a tenth of the mount's CPU per file in an untar."""
    path, _, query = target.partition("?")
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    out = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    canonical = sorted((name.lower(), " ".join(str(value).split())) for name, value in out.items())
    signed = ";".join(name for name, _ in canonical)
    pairs = sorted(
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for k, _, v in (piece.partition("=") for piece in query.split("&") if piece)
    )
    request = "\n".join(
        (
            method,
            path,
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(f"{name}:{value}\n" for name, value in canonical),
            signed,
            headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD),
        )
    )
    scope = f"{amz_date[:8]}/{region}/{auth.SERVICE}/aws4_request"
    to_sign = f"{auth.ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
    signature = auth.sign(auth.signing_key(credentials.secret_key, amz_date[:8], region), to_sign)
    out["Authorization"] = (
        f"{auth.ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return out


def _body_into(response: http.client.HTTPResponse, outs: list[memoryview]) -> None:
    for out in outs:
        pos = 0
        while pos < len(out):
            n = response.readinto(out[pos:])
            if not n:
                raise http.client.IncompleteRead(b"", len(out) - pos)
            pos += n
    if response.read(1):
        raise http.client.HTTPException("the answer is longer than asked for")


@dataclass(slots=True)
class ListPage:
    contents: list[dict[str, Any]]  # Key, Size, ETag, LastModified, as botocore gives them
    prefixes: list[str]
    next_token: str | None


def _list_page(body: bytes) -> ListPage:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(body)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    contents = [
        {
            "Key": unquote(c.findtext(f"{ns}Key") or ""),
            "Size": int(c.findtext(f"{ns}Size") or 0),
            "ETag": c.findtext(f"{ns}ETag") or "",
            "LastModified": datetime.fromisoformat((c.findtext(f"{ns}LastModified") or EPOCH).replace("Z", "+00:00")),
        }
        for c in root.iter(f"{ns}Contents")
    ]
    prefixes = [unquote(p.findtext(f"{ns}Prefix") or "") for p in root.iter(f"{ns}CommonPrefixes")]
    truncated = (root.findtext(f"{ns}IsTruncated") or "").lower() == "true"
    return ListPage(contents, prefixes, root.findtext(f"{ns}NextContinuationToken") if truncated else None)


def _target(bucket: str, key: str) -> str:
    return f"/{quote(bucket)}/{quote(key, safe='/~')}"


def _client_error(body: bytes, status: int, operation: str) -> Exception:
    """The answer as botocore's ClientError, which errors.py maps."""
    import xml.etree.ElementTree as ET

    from botocore.exceptions import ClientError

    try:
        root = ET.fromstring(body)
        code, message = root.findtext("Code") or str(status), root.findtext("Message") or ""
    except ET.ParseError:
        code, message = str(status), body[:200].decode(errors="replace")
    answer = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    error: Exception = ClientError(answer, operation)
    return error
