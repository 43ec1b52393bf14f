"""Request payloads: plain or aws-chunked bodies, verified while they stream.

A ``Payload`` yields the decoded object bytes; ``finish()`` then checks what
can only be checked at the end (length, SHA-256, Content-MD5, x-amz-checksum-*
in a header or trailer, chunk and trailer signatures). Callers write the bytes
somewhere temporary and commit only if ``finish()`` passes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import AsyncIterator

from s3d.s3 import checksums
from s3d.s3.auth import EMPTY_SHA256, UNSIGNED, Auth
from s3d.s3.errors import S3Error
from s3d.server.http import Body, BodyError

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING = {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
MAX_LINE = 8192
MAX_PUT_SIZE = 5 * 1024**3  # one PUT (an object or a part) carries at most 5 GiB


MAX_SIZE_DIGITS = len(str(MAX_PUT_SIZE))  # a longer length is refused before int() parses it


def _size_value(v: str) -> int:
    """A declared body length: ASCII digits only, at most MAX_PUT_SIZE."""
    digits = v.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise S3Error("InvalidArgument", "Content-Length is not a non-negative integer")
    if len(digits.lstrip("0")) > MAX_SIZE_DIGITS or int(digits) > MAX_PUT_SIZE:
        raise S3Error("EntityTooLarge", extra={"ProposedSize": digits, "MaxSizeAllowed": str(MAX_PUT_SIZE)})
    return int(digits)


def declared_size(headers: dict[str, str]) -> int:
    """The body length a request announces (the decoded length of an aws-chunked body), 0 if none."""
    v = headers.get("x-amz-decoded-content-length") or headers.get("content-length")
    return 0 if v is None else _size_value(v)


class Payload:
    def __init__(
        self, headers: dict[str, str], auth: Auth | None, body: Body, *, checksum_algorithm: str | None = None
    ) -> None:
        self.headers = headers
        self.auth = auth
        self.body = body
        self.mode = auth.payload_hash if auth else UNSIGNED
        if self.mode.startswith("STREAMING-") and self.mode not in STREAMING:
            raise S3Error("InvalidArgument", f"x-amz-content-sha256 must be a SHA-256 or one of {sorted(STREAMING)}")
        self.chunked = self.mode in STREAMING
        self.size = 0
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256() if self._hex_hash() else None
        self.expected_size = self._expected_size()
        self.content_md5 = self._content_md5()
        self.trailer_names = [t.strip().lower() for t in headers.get("x-amz-trailer", "").split(",") if t.strip()]
        self.trailers: dict[str, str] = {}
        self.checksum_algorithm, self.checksum_expected = self._checksum_request(checksum_algorithm)
        self.checksum = checksums.new(self.checksum_algorithm) if self.checksum_algorithm else None
        self.prev_signature = auth.signature if auth else ""
        self.finished = False

    # ---------- request header parsing ----------
    def _hex_hash(self) -> bool:
        m = self.mode
        return len(m) == 64 and all(c in "0123456789abcdef" for c in m.lower())

    def _expected_size(self) -> int | None:
        h = self.headers
        if self.chunked:
            v = h.get("x-amz-decoded-content-length")
            if v is None:
                raise S3Error("MissingContentLength", "x-amz-decoded-content-length is required with aws-chunked")
        else:
            v = h.get("content-length")
            if v is None:
                if "chunked" in h.get("transfer-encoding", "").lower():
                    return None
                raise S3Error("MissingContentLength")
        return _size_value(v)

    def _content_md5(self) -> bytes | None:
        v = self.headers.get("content-md5")
        if v is None:
            return None
        try:
            raw = base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raise S3Error("InvalidDigest") from None
        if len(raw) != 16:
            raise S3Error("InvalidDigest")
        return raw

    def _checksum_request(self, declared: str | None) -> tuple[str | None, str | None]:
        """Which x-amz-checksum-* to compute and, if it came in a header, its expected value."""
        found = [(a, self.headers[h]) for a, h in checksums.HEADER.items() if h in self.headers]
        trailer_algos = [a for a, h in checksums.HEADER.items() if h in self.trailer_names]
        if len(found) + len(trailer_algos) > 1:
            raise S3Error(
                "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            )
        sdk = self.headers.get("x-amz-sdk-checksum-algorithm", "").upper() or None
        if sdk is not None and sdk not in checksums.ALGORITHMS:
            raise S3Error("InvalidRequest", f"Checksum algorithm {sdk!r} is not supported")
        if found:
            algo, value = found[0]
            if sdk and sdk != algo:
                raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
            return algo, value
        if trailer_algos:
            return trailer_algos[0], None
        return sdk or declared, None

    # ---------- streaming ----------
    async def chunks(self) -> AsyncIterator[bytes]:
        source = self._decode_chunked() if self.chunked else self._plain()
        async for data in source:
            self.size += len(data)
            if self.expected_size is not None and self.size > self.expected_size:
                raise S3Error("InvalidRequest", "The body is longer than its declared length")
            self.md5.update(data)
            if self.sha256 is not None:
                self.sha256.update(data)
            if self.checksum is not None:
                self.checksum.update(data)
            yield data

    async def read_all(self, limit: int | None = None) -> bytes:
        """The whole (decoded) body; MaxMessageLengthExceeded past ``limit`` bytes."""
        if limit is not None and self.expected_size is not None and self.expected_size > limit:
            raise S3Error("MaxMessageLengthExceeded")
        parts: list[bytes] = []
        async for c in self.chunks():
            if limit is not None and self.size > limit:
                raise S3Error("MaxMessageLengthExceeded")
            parts.append(c)
        return b"".join(parts)

    async def _plain(self) -> AsyncIterator[bytes]:
        try:
            async for c in self.body:
                yield c
        except BodyError:
            raise S3Error("IncompleteBody") from None

    async def _decode_chunked(self) -> AsyncIterator[bytes]:
        buf = bytearray()
        it = self.body.__aiter__()
        eof = False

        async def fill() -> bool:
            nonlocal eof
            if eof:
                return False
            try:
                c = await it.__anext__()
            except StopAsyncIteration:
                eof = True
                return False
            except BodyError:
                raise S3Error("IncompleteBody") from None
            buf.extend(c)
            return True

        async def line() -> bytes:
            while True:
                i = buf.find(b"\r\n")
                if i >= 0:
                    ln = bytes(buf[:i])
                    del buf[: i + 2]
                    return ln
                if len(buf) > MAX_LINE or not await fill():
                    raise S3Error("IncompleteBody", "The aws-chunked body ended early or has a malformed chunk header")

        signed = self.mode in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
        while True:
            header = (await line()).decode("latin-1")
            size_s, _, ext = header.partition(";")
            try:
                size = int(size_s.strip(), 16)
            except ValueError:
                raise S3Error("IncompleteBody", "Malformed aws-chunked chunk size") from None
            sig = None
            if ext.startswith("chunk-signature="):
                sig = ext[len("chunk-signature=") :].strip()
            if signed and sig is None:
                raise S3Error("SignatureDoesNotMatch", "Chunk signature is missing")
            while len(buf) < size + (2 if size else 0):
                if not await fill():
                    raise S3Error("IncompleteBody")
            data = bytes(buf[:size])
            if size:
                if buf[size : size + 2] != b"\r\n":
                    raise S3Error("IncompleteBody", "Malformed aws-chunked chunk")
                del buf[: size + 2]
            if signed:
                self._verify_chunk(data, sig or "")
            if size == 0:
                break
            yield data
        # trailers (if any), then the final empty line
        while True:
            ln = await line()
            if not ln:
                break
            name, _, value = ln.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
        if self.mode == STREAMING_SIGNED_TRAILER:
            self._verify_trailer()

    def _verify_chunk(self, data: bytes, sig: str) -> None:
        a = self.auth
        assert a is not None
        sts = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                a.amz_date,
                a.scope,
                self.prev_signature,
                EMPTY_SHA256,
                hashlib.sha256(data).hexdigest(),
            )
        )
        want = hmac.new(a.signing_key, sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            raise S3Error("SignatureDoesNotMatch", "The chunk signature does not match")
        self.prev_signature = sig

    def _verify_trailer(self) -> None:
        a = self.auth
        assert a is not None
        sig = self.trailers.pop("x-amz-trailer-signature", None)
        if sig is None:
            raise S3Error("SignatureDoesNotMatch", "The trailer signature is missing")
        canon = "".join(f"{k}:{v}\n" for k, v in self.trailers.items())
        sts = "\n".join(
            (
                "AWS4-HMAC-SHA256-TRAILER",
                a.amz_date,
                a.scope,
                self.prev_signature,
                hashlib.sha256(canon.encode()).hexdigest(),
            )
        )
        want = hmac.new(a.signing_key, sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            raise S3Error("SignatureDoesNotMatch", "The trailer signature does not match")

    # ---------- end-of-body checks ----------
    def finish(self) -> None:
        if self.expected_size is not None and self.size != self.expected_size:
            raise S3Error("IncompleteBody")
        if self.sha256 is not None and self.sha256.hexdigest() != self.mode.lower():
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                extra={"ClientComputedContentSHA256": self.mode, "S3ComputedContentSHA256": self.sha256.hexdigest()},
            )
        if self.content_md5 is not None and self.md5.digest() != self.content_md5:
            raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
        if self.checksum is not None and self.checksum_algorithm:
            expected = self.checksum_expected
            if expected is None:
                expected = self.trailers.get(checksums.HEADER[self.checksum_algorithm])
                if expected is None and checksums.HEADER[self.checksum_algorithm] in self.trailer_names:
                    raise S3Error("IncompleteBody", "The declared checksum trailer is missing")
            actual = checksums.b64(self.checksum.digest())
            if expected is not None and expected != actual:
                raise S3Error(
                    "BadDigest", f"The {self.checksum_algorithm} you specified did not match the calculated checksum."
                )
            self.checksum_expected = actual
        self.finished = True

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    @property
    def checksum_value(self) -> tuple[str, str] | None:
        if self.checksum_algorithm and self.checksum_expected:
            return self.checksum_algorithm, self.checksum_expected
        return None
