"""Request payloads: plain or aws-chunked bodies, verified while they stream.

A ``Payload`` yields the decoded object bytes; ``finish()`` then checks what
can only be checked at the end (length, SHA-256, Content-MD5, x-amz-checksum-*
in a header or trailer, chunk and trailer signatures). Callers write the bytes
somewhere temporary and commit only if ``finish()`` passes: an aws-chunked
chunk's data is handed on as it arrives, before the chunk's signature (at its
end) is checked, so that no chunk is ever held whole.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import AsyncIterator

from s3d.s3 import checksums
from s3d.s3.auth import BAD_PAYLOAD_HASH, EMPTY_SHA256, UNSIGNED, Auth, valid_payload_hash
from s3d.s3.chunked import CRLF, MAX_LINE, BodyReader, parse_chunk_header, parse_trailer
from s3d.s3.errors import S3Error
from s3d.server.http import Body, BodyError

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING = {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
SIGNED_STREAMING = {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER}
TRAILER_MODES = {STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
SIGV4A_STREAMING = {"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"}
CONTENT_SHA256 = "x-amz-content-sha256"
DECODED_LENGTH = "x-amz-decoded-content-length"
TRAILER_SIGNATURE = "x-amz-trailer-signature"
CHECKSUM_TRAILERS = frozenset(checksums.HEADER.values())
NOT_COMPUTED_TRAILERS = frozenset(f"x-amz-checksum-{a.lower()}" for a in checksums.NOT_COMPUTED)
MAX_PUT_SIZE = 5 * 1024**3  # one PUT (an object or a part) carries at most 5 GiB
# The framing an aws-chunked body may add to its decoded length: a fixed allowance (the final chunk, trailers,
# a few small chunks) and a share of the decoded length (a signed chunk header costs about 90 bytes, so chunks
# down to about 1.5 KiB fit; AWS wants signed chunks of 8 KiB at least). More is refused as it arrives.
FRAMING_ALLOWANCE = 64 * 1024
FRAMING_SHARE = 16  # one byte of framing per this many decoded bytes


# docs/compatibility.md, "Request bodies": (what a request says, what s3d does with it)
COMPATIBILITY = (
    (f"`{CONTENT_SHA256}`", "UNSIGNED-PAYLOAD; a hex SHA-256, checked against the body (400 XAmzContentSHA256Mismatch); "
     f"{STREAMING_UNSIGNED_TRAILER}, {STREAMING_SIGNED} and {STREAMING_SIGNED_TRAILER}: an aws-chunked body, its chunk "
     "and trailer signatures checked. On a request whose signature does not cover the header (presigned URL, SigV2, "
     "anonymous) the header, when sent, says how the body is read: a SHA-256 is checked, unsigned aws-chunked is "
     "decoded; one differing from the URL's signed X-Amz-Content-Sha256: 400 InvalidRequest"),
    ("`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD[-TRAILER]` (SigV4a)", "refused, 501 NotImplemented"),
    (f"{STREAMING_SIGNED}[-TRAILER] on a presigned URL, SigV2 or anonymous request",
     "refused, 501 NotImplemented: chunk signatures need SigV4 header authentication"),
    (f"`{DECODED_LENGTH}`", "aws-chunked: the length of the data; a chunk passing it, or a Content-Length beyond it "
     f"and its framing ({FRAMING_ALLOWANCE // 1024} KiB and 1/{FRAMING_SHARE} of the data): 400 IncompleteBody. Beside "
     "a plain body: checked for form, its value ignored (as AWS does); Content-Length is the body's length"),
    ("`x-amz-trailer`", "one x-amz-checksum-* s3d computes (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), checked against "
     "the body; another checksum S3 knows: 501 NotImplemented; anything else: 400 InvalidRequest. A trailer line not "
     "declared, repeated or without a colon, or a declared trailer not sent: 400 MalformedTrailerError; a value that "
     "is not base64 of the algorithm's digest: 400 InvalidRequest"),
    ("`x-amz-checksum-*` values", "base64 of exactly the algorithm's digest, else 400 InvalidRequest (Value for ... "
     "header is invalid.); a well-formed value the body does not match: 400 BadDigest"),
    ("aws-chunked framing", "chunk sizes in hex digits only, CRLF after each chunk's data, nothing after the final "
     f"empty line, chunk header and trailer lines of at most {MAX_LINE // 1024} KiB: 400 IncompleteBody otherwise. "
     "A chunk's data is passed on as it arrives, never held whole"),
)  # fmt: skip


MAX_SIZE_DIGITS = len(str(MAX_PUT_SIZE))  # a longer length is refused before int() parses it


def _digits(v: str) -> str:
    """A declared length's digits (ASCII only, no sign, no leading zeros); InvalidArgument otherwise."""
    digits = v.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise S3Error("InvalidArgument", "Content-Length is not a non-negative integer")
    return digits.lstrip("0") or "0"


def _size_value(v: str) -> int:
    """A declared body length: ASCII digits only, at most MAX_PUT_SIZE."""
    digits = _digits(v)
    if len(digits) > MAX_SIZE_DIGITS or int(digits) > MAX_PUT_SIZE:
        raise S3Error("EntityTooLarge", extra={"ProposedSize": v.strip(), "MaxSizeAllowed": str(MAX_PUT_SIZE)})
    return int(digits)


def payload_mode(headers: dict[str, str], auth: Auth | None) -> str:
    """How the body is read and checked: the x-amz-content-sha256 the signature covers; on a request whose
    signature does not cover it (presigned, SigV2, anonymous) the header, when sent, governs: it can only add a
    check (a SHA-256 the body must match) or say the body is aws-chunked, never unsay a signed value."""
    signed = auth.payload_hash if auth else UNSIGNED
    declared = headers.get(CONTENT_SHA256, signed)
    if not valid_payload_hash(declared) or not valid_payload_hash(signed):
        raise S3Error("InvalidArgument", BAD_PAYLOAD_HASH)
    if declared != signed and signed != UNSIGNED:
        raise S3Error("InvalidRequest", f"{CONTENT_SHA256} does not match the X-Amz-Content-Sha256 the URL signs.")
    if declared in SIGV4A_STREAMING:
        raise S3Error("NotImplemented", "SigV4a (ECDSA-P256-SHA256) streaming payloads are not implemented by s3d.")
    if declared in SIGNED_STREAMING and declared != signed:
        raise S3Error("NotImplemented", "Signed aws-chunked payloads need SigV4 header authentication in s3d.")
    return declared


def _expected_size(headers: dict[str, str], chunked: bool) -> int | None:
    """The length of the body's data: x-amz-decoded-content-length of an aws-chunked body, else Content-Length
    (None for a plain body sent with Transfer-Encoding: chunked). Beside a plain body the decoded length is
    only checked for form; its value is ignored, as AWS ignores it."""
    decoded = headers.get(DECODED_LENGTH)
    decoded_size = None if decoded is None else _size_value(decoded)
    if chunked:
        if decoded_size is None:
            raise S3Error("MissingContentLength", f"{DECODED_LENGTH} is required with aws-chunked")
        return decoded_size
    length = headers.get("content-length")
    if length is None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return None
        raise S3Error("MissingContentLength")
    return _size_value(length)


def declared_size(headers: dict[str, str], auth: Auth | None) -> int:
    """The length of the data a request announces, for reserving room before it is read; 0 if none."""
    if "content-length" not in headers and DECODED_LENGTH not in headers:
        return 0
    return _expected_size(headers, payload_mode(headers, auth) in STREAMING) or 0


def content_length(headers: dict[str, str]) -> int:
    """The Content-Length of a body read as it is (a PostObject form), 0 if none."""
    length = headers.get("content-length")
    return 0 if length is None else _size_value(length)


def _framing_budget(headers: dict[str, str], decoded_length: int) -> int:
    """How many bytes of aws-chunked framing the body may carry; a Content-Length beyond it is refused now."""
    budget = FRAMING_ALLOWANCE + decoded_length // FRAMING_SHARE
    length = headers.get("content-length")
    if length is not None:
        digits = _digits(length)
        if len(digits) > MAX_SIZE_DIGITS or int(digits) > decoded_length + budget:
            raise S3Error("IncompleteBody", f"Content-Length is larger than {DECODED_LENGTH} and its chunk framing.")
    return budget


class Payload:
    def __init__(
        self, headers: dict[str, str], auth: Auth | None, body: Body, *, checksum_algorithm: str | None = None
    ) -> None:
        self.headers = headers
        self.auth = auth
        self.body = body
        self.mode = payload_mode(headers, auth)
        self.chunked = self.mode in STREAMING
        self.size = 0
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256() if self._hex_hash() else None
        self.expected_size = _expected_size(headers, self.chunked)
        self.framing_budget = _framing_budget(headers, self.expected_size or 0) if self.chunked else 0
        self.framing = 0  # aws-chunked framing bytes read so far
        self.content_md5 = self._content_md5()
        self.trailer_names = self._trailer_names()
        self.trailers: dict[str, str] = {}
        self.checksum_algorithm, self.checksum_expected = self._checksum_request(checksum_algorithm)
        self.checksum = checksums.new(self.checksum_algorithm) if self.checksum_algorithm else None
        self.prev_signature = auth.signature if auth else ""
        self.finished = False

    # ---------- request header parsing ----------
    def _hex_hash(self) -> bool:
        return self.mode not in STREAMING and self.mode != UNSIGNED

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

    def _trailer_names(self) -> list[str]:
        """The x-amz-trailer names: x-amz-checksum-* only (s3d reads no other trailer)."""
        names = [t.strip().lower() for t in self.headers.get("x-amz-trailer", "").split(",") if t.strip()]
        for name in names:
            if name in NOT_COMPUTED_TRAILERS:
                raise S3Error("NotImplemented", f"The {name} trailer: checksum algorithm not supported by s3d.")
            if name not in CHECKSUM_TRAILERS:
                raise S3Error("InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
        return names

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
            if checksums.digest_of(algo, value) is None:
                raise S3Error("InvalidRequest", f"Value for {checksums.HEADER[algo]} header is invalid.")
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
        """The data of an aws-chunked body, piece by piece as it arrives; each chunk is refused before its data
        is read if it would pass the decoded length, and its signature (signed streaming) checked at its end."""
        reader = BodyReader(self.body)
        signed = self.mode in SIGNED_STREAMING
        remaining = self.expected_size or 0
        while True:
            size, signature = parse_chunk_header(await self._framing_line(reader), signed)
            if size > remaining:
                raise S3Error(
                    "IncompleteBody", f"An aws-chunked chunk of {size} bytes passes {DECODED_LENGTH}.",
                    extra={"NumberBytesExpected": str(self.expected_size), "NumberBytesProvided": str(self.size + size)},
                )  # fmt: skip
            chunk_sha256 = hashlib.sha256() if signed else None
            async for data in reader.run(size):
                if chunk_sha256 is not None:
                    chunk_sha256.update(data)
                yield data
            remaining -= size
            if size and await self._framing_line(reader):
                raise S3Error("IncompleteBody", "An aws-chunked chunk's data is not followed by CRLF")
            if chunk_sha256 is not None:
                self._verify_chunk(chunk_sha256.hexdigest(), signature or "")
            if size == 0:
                break
        await self._read_trailers(reader)
        if not await reader.at_end():
            raise S3Error("IncompleteBody", "Bytes follow the end of the aws-chunked body")
        if self.mode == STREAMING_SIGNED_TRAILER:
            self._verify_trailer()

    async def _framing_line(self, reader: BodyReader) -> bytes:
        """A chunk header, the CRLF after a chunk's data, or a trailer line, counted against the framing budget."""
        line = await reader.line()
        self.framing += len(line) + len(CRLF)
        if self.framing > self.framing_budget:
            raise S3Error("IncompleteBody", f"The aws-chunked framing is larger than {DECODED_LENGTH} allows.")
        return line

    async def _read_trailers(self, reader: BodyReader) -> None:
        """The trailer lines up to the empty one: each a declared x-amz-checksum-* (and, in signed-trailer
        streaming, x-amz-trailer-signature), at most once; anything else is MalformedTrailerError."""
        allowed = set(self.trailer_names) if self.mode in TRAILER_MODES else set()
        if self.mode == STREAMING_SIGNED_TRAILER:
            allowed.add(TRAILER_SIGNATURE)
        while line := await self._framing_line(reader):
            name, value = parse_trailer(line)
            if name not in allowed or name in self.trailers:
                raise S3Error("MalformedTrailerError")
            self.trailers[name] = value

    def _verify_chunk(self, data_sha256: str, sig: str) -> None:
        a = self.auth
        assert a is not None
        sts = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                a.amz_date,
                a.scope,
                self.prev_signature,
                EMPTY_SHA256,
                data_sha256,
            )
        )
        want = hmac.new(a.signing_key, sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want.encode(), sig.encode("latin-1")):  # bytes: a str must be ASCII
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
        if not hmac.compare_digest(want.encode(), sig.encode("latin-1")):
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
            self._check_checksum(self.checksum_algorithm, self.checksum.digest())
        self.finished = True

    def _check_checksum(self, algorithm: str, digest: bytes) -> None:
        """The x-amz-checksum-* of a header or declared trailer against the body's: InvalidRequest for a value
        that is no digest of the algorithm, BadDigest for one that differs. Then it is the body's checksum."""
        name = checksums.HEADER[algorithm]
        expected = self.checksum_expected
        if expected is None and name in self.trailer_names:
            expected = self.trailers.get(name)
            if expected is None:
                raise S3Error("MalformedTrailerError", f"The declared {name} trailer is missing.")
            if checksums.digest_of(algorithm, expected) is None:
                raise S3Error("InvalidRequest", f"Value for {name} trailing header is invalid.")
        if expected is not None and checksums.digest_of(algorithm, expected) != digest:
            raise S3Error("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")
        self.checksum_expected = checksums.b64(digest)

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    @property
    def checksum_value(self) -> tuple[str, str] | None:
        if self.checksum_algorithm and self.checksum_expected:
            return self.checksum_algorithm, self.checksum_expected
        return None
