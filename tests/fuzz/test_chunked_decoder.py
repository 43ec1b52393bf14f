"""Property-based tests of the aws-chunked decoder, in-process: a body in any framing, cut into any pieces,
gives its exact data or a 4xx; a chunk is refused before its data is read when it passes the declared length;
and the decoder holds no chunk whole, whatever size it announces."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from s3d.s3 import auth, checksums
from s3d.s3.errors import S3Error
from s3d.s3.payload import STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER, Payload
from s3d.server.http import Body, HttpConnection, Response
from tests.support.chunked import Signer, encode

AMZ_DATE = "20250101T000000Z"
REGION = "us-east-1"
SEED = "5eed" * 16  # the request's signature: where the chain of chunk signatures starts
SIGNER = Signer("AKFUZZ", "fuzz-secret", REGION)
TRAILER = "x-amz-checksum-crc64nvme"
MODES = [STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER]
MiB = 1 << 20
NETWORK_PIECE = 64 * 1024  # what one read from the socket may hand over
LARGE_CHUNK = 32 * MiB
MEMORY_BOUND = 2 * MiB  # what decoding LARGE_CHUNK may allocate at its peak


async def _answer(_: Any) -> Response:
    return Response(200, [])


def _body(pieces: list[bytes]) -> Body:
    """A request body as the server hands it over, in exactly these pieces."""
    body = Body(HttpConnection(_answer, lambda e: Response(500, [])))
    for piece in pieces:
        body.feed(piece)
    body.finish()
    return body


def _cut(wire: bytes, cuts: list[int]) -> list[bytes]:
    at = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    return [wire[a:b] for a, b in zip(at, at[1:], strict=False) if b > a]


def _auth(mode: str) -> auth.Auth:
    scope = f"{AMZ_DATE[:8]}/{REGION}/s3/aws4_request"
    return auth.Auth("AKFUZZ", mode, SEED, SIGNER.key(AMZ_DATE[:8]), scope, AMZ_DATE, False)


def _headers(mode: str, decoded: int, wire: bytes | None, trailer: bool) -> dict[str, str]:
    h = {"x-amz-content-sha256": mode, "x-amz-decoded-content-length": str(decoded)}
    if wire is None:
        h["transfer-encoding"] = "chunked"
    else:
        h["content-length"] = str(len(wire))
    if trailer:
        h["x-amz-trailer"] = TRAILER
    return h


def _crc64(data: bytes) -> str:
    return checksums.compute("CRC64NVME", data)


def _wire(data: bytes, mode: str, chunk_sizes: list[int]) -> tuple[bytes, bool]:
    trailer = mode != STREAMING_SIGNED
    wire = encode(
        data, mode=mode, signer=SIGNER, amz_date=AMZ_DATE, seed=SEED, chunk_sizes=chunk_sizes,
        trailer=(TRAILER, _crc64(data)) if trailer else None,
    )  # fmt: skip
    return wire, trailer


async def _decode(headers: dict[str, str], mode: str, pieces: list[bytes]) -> tuple[bytes | S3Error, int]:
    """The decoded body, or the S3Error that refused it (which must be a 4xx); and how much of it was read."""
    body = _body(pieces)
    try:
        payload = Payload(headers, _auth(mode), body)
        data = await payload.read_all()
        payload.finish()
        return data, body.consumed
    except S3Error as e:
        assert 400 <= e.status < 500, (e.code, e.status, e.message)
        return e, body.consumed


def _run(headers: dict[str, str], mode: str, pieces: list[bytes]) -> bytes | S3Error:
    return asyncio.run(_decode(headers, mode, pieces))[0]


chunk_sizes = st.lists(st.integers(1, 300), min_size=1, max_size=4)
cuts = st.lists(st.integers(0, 10_000), max_size=8)


@given(st.binary(max_size=1000), st.sampled_from(MODES), chunk_sizes, cuts)
def test_well_formed_bodies_decode_to_their_data(data: bytes, mode: str, sizes: list[int], at: list[int]) -> None:
    wire, trailer = _wire(data, mode, sizes)
    assert _run(_headers(mode, len(data), wire, trailer), mode, _cut(wire, at)) == data


@given(
    st.binary(min_size=1, max_size=600),
    st.sampled_from(MODES),
    chunk_sizes,
    cuts,
    st.integers(0, 10_000),
    st.sampled_from(["delete", "insert", "replace"]),
    st.binary(min_size=1, max_size=3),
)
def test_mutated_bodies_decode_exactly_or_are_refused(
    data: bytes, mode: str, sizes: list[int], at: list[int], where: int, how: str, new: bytes
) -> None:
    wire, trailer = _wire(data, mode, sizes)
    i = where % len(wire)
    mutated = {
        "delete": wire[:i] + wire[i + 1 :],
        "insert": wire[:i] + new + wire[i:],
        "replace": wire[:i] + new + wire[i + len(new) :],
    }[how]
    got = _run(_headers(mode, len(data), mutated, trailer), mode, _cut(mutated, at))
    assert isinstance(got, S3Error) or got == data


@given(st.integers(0, 1000), st.integers(1, 2**64 - 1), st.sampled_from(MODES))
def test_chunk_past_the_decoded_length_is_refused_before_its_data(declared: int, excess: int, mode: str) -> None:
    header = b"%x;chunk-signature=%s\r\n" % (declared + excess, b"0" * 64)
    got, consumed = asyncio.run(_decode(_headers(mode, declared, None, False), mode, [header, b"x" * 100]))
    assert isinstance(got, S3Error) and got.code == "IncompleteBody"
    assert consumed == len(header)


def test_a_large_chunk_is_not_held_in_memory() -> None:
    data = bytes(range(256)) * (LARGE_CHUNK // 256)
    wire, _ = _wire(data, STREAMING_UNSIGNED_TRAILER, [LARGE_CHUNK])
    pieces = [wire[i : i + NETWORK_PIECE] for i in range(0, len(wire), NETWORK_PIECE)]
    del wire
    headers = _headers(STREAMING_UNSIGNED_TRAILER, len(data), None, True)
    md5 = hashlib.md5()

    async def consume() -> None:
        payload = Payload(headers, _auth(STREAMING_UNSIGNED_TRAILER), _body(pieces))
        async for piece in payload.chunks():
            md5.update(piece)
        payload.finish()

    tracemalloc.start()
    try:
        asyncio.run(consume())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert md5.digest() == hashlib.md5(data).digest()
    assert peak < MEMORY_BOUND, peak


def test_framing_past_its_budget_is_refused() -> None:
    data = b"x" * 100_000
    wire, _ = _wire(data, STREAMING_UNSIGNED_TRAILER, [1])  # about five bytes of framing per byte of data
    headers = _headers(STREAMING_UNSIGNED_TRAILER, len(data), None, True)
    got = _run(headers, STREAMING_UNSIGNED_TRAILER, [wire])
    assert isinstance(got, S3Error) and got.code == "IncompleteBody"
