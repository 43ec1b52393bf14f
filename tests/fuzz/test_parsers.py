"""Property-based tests of every parser of untrusted bytes, called in-process: whatever the input, the parser
returns or refuses it with a 4xx S3Error (501 for what s3d does not implement); no other exception escapes."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from s3d.admin.endpoints import MAX_FLUSH_TIMEOUT, flush_timeout
from s3d.s3 import auth, auth_v2, integers, xml
from s3d.s3.context import parse_query
from s3d.s3.errors import S3Error
from s3d.s3.formdata import FormReader, boundary_of
from s3d.s3.handlers.common import (
    check_read_conditions,
    parse_http_date,
    parse_range,
    tags_from_header,
    user_metadata_of,
)
from s3d.s3.handlers.cors import parse_cors
from s3d.s3.handlers.lifecycle import parse_configuration
from s3d.s3.handlers.multipart import _parse_complete
from s3d.s3.handlers.post import check_policy
from s3d.s3.handlers.tagging import parse_tagging
from s3d.s3.payload import STREAMING, Payload, declared_size
from s3d.s3.select import request as select_request
from s3d.server.http import Body, HttpConnection, Response
from s3d.store.store import Object
from tests.fuzz.strategies import header_text, live_policies, numbers, policies, values, xml_bytes

ACCESS_KEY, SECRET = "AKFUZZ", "fuzz-secret"
SECRETS = {ACCESS_KEY: SECRET}
REGION = "us-east-1"  # the daemon's region; the fuzzed requests are signed for it


def refused_or_ok(call: Callable[[], object]) -> None:
    """Run one parse; an S3Error must be a client error (or 501), any other exception fails the test."""
    try:
        call()
    except S3Error as e:
        assert 400 <= e.status < 500 or e.status == 501, (e.code, e.status, e.message)


async def _refused_or_ok_async(coro: Any) -> None:
    try:
        await coro
    except S3Error as e:
        assert 400 <= e.status < 500 or e.status == 501, (e.code, e.status, e.message)


# ---------- headers and query strings ----------
@given(st.one_of(values, st.builds(lambda a, b: f"bytes={a}-{b}", numbers, numbers)), st.integers(0, 2**40))
def test_range(value: str, size: int) -> None:
    def run() -> None:
        r = parse_range(value, size)
        if r is not None:
            assert 0 <= r[0] <= r[1] < size

    refused_or_ok(run)


@given(st.one_of(header_text, st.text(max_size=200)))
def test_query_string(raw: str) -> None:
    parsed = parse_query(raw)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.items())


@given(
    st.dictionaries(st.sampled_from(["content-length", "x-amz-decoded-content-length"]), numbers),
    st.one_of(st.none(), st.sampled_from(["UNSIGNED-PAYLOAD", *sorted(STREAMING), "0" * 64]), values),
)
def test_declared_size(headers: dict[str, str], content_sha256: str | None) -> None:
    if content_sha256 is not None:
        headers["x-amz-content-sha256"] = content_sha256
    refused_or_ok(lambda: declared_size(headers, None))


@given(st.one_of(values, header_text))
def test_http_date(value: str) -> None:
    parse_http_date(value)


@given(
    st.dictionaries(
        st.sampled_from(["if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]), header_text
    )
)
def test_read_conditions(headers: dict[str, str]) -> None:
    obj = Object(bucket="b", key=b"k", size=1, etag="0" * 32, mtime=time.time(), version=0, meta={}, data=b"x")
    refused_or_ok(lambda: check_read_conditions(obj, headers))


@given(st.one_of(header_text, st.builds(lambda a, b: f"{a}={b}&{b}={a}", values, values)))
def test_tagging_header(value: str) -> None:
    refused_or_ok(lambda: tags_from_header(value))


ENCODED_WORD_PIECES = ["=?", "?=", "?", "UTF-8", "B", "Q", "w6k=", "=C3=A9", "_", " ", "*en"]
encodedish = st.lists(st.sampled_from(ENCODED_WORD_PIECES), max_size=12).map("".join)


@given(st.dictionaries(st.one_of(st.just("x-amz-meta-m"), header_text.map("x-amz-meta-".__add__)),
                       st.one_of(values, encodedish), max_size=3))  # fmt: skip
def test_user_metadata(fields: dict[str, str]) -> None:
    refused_or_ok(lambda: user_metadata_of(fields))


# ---------- integers ----------
S3_INTEGER = re.compile("-?[0-9]+")


@given(st.one_of(values, st.text(max_size=30)))
def test_integer_is_ascii_digits_within_int32(raw: str) -> None:
    n = integers.parse(raw)
    if n is not None:
        assert S3_INTEGER.fullmatch(raw) is not None and int(raw) == n
        assert integers.INT_MIN <= n <= integers.INT_MAX


@given(st.integers(integers.INT_MIN, integers.INT_MAX), st.integers(0, 3))
def test_every_int32_is_read_back(n: int, zeros: int) -> None:
    sign, digits = ("-", str(-n)) if n < 0 else ("", str(n))
    assert integers.parse(f"{sign}{'0' * zeros}{digits}") == n


@given(st.one_of(st.integers(max_value=integers.INT_MIN - 1), st.integers(min_value=integers.INT_MAX + 1)))
def test_an_integer_past_int32_is_not_read(n: int) -> None:
    assert integers.parse(str(n)) is None


# ---------- XML documents ----------
@given(xml_bytes)
def test_xml_documents(body: bytes) -> None:
    for parse in (xml.parse, parse_tagging, parse_cors, _parse_complete, parse_configuration, select_request.parse):
        refused_or_ok(lambda parse=parse: parse(body))  # type: ignore[misc]


# ---------- signatures ----------
def _authorization(cred: str, signed: str, sig: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}"


credentials = st.one_of(
    st.builds(
        lambda ak, date, region, svc: f"{ak}/{date}/{region}/{svc}/aws4_request",
        st.sampled_from([ACCESS_KEY, "AKOTHER", ""]),
        st.one_of(st.just(time.strftime("%Y%m%d", time.gmtime())), values),
        st.sampled_from(["us-east-1", "", "x"]),
        st.sampled_from(["s3", "sts", ""]),
    ),
    values,
)
signatures = st.one_of(st.just("0" * 64), values, st.text(min_size=64, max_size=64))
amz_dates = st.one_of(st.just(time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())), values)


@given(
    credentials,
    st.one_of(st.just("host;x-amz-content-sha256;x-amz-date"), values),
    signatures,
    amz_dates,
    st.one_of(st.sampled_from(["UNSIGNED-PAYLOAD", *sorted(STREAMING), "0" * 64]), values),
    st.one_of(st.none(), header_text),
)
def test_sigv4_header(cred: str, signed: str, sig: str, date: str, payload: str, raw: str | None) -> None:
    headers = {"host": "127.0.0.1", "x-amz-date": date, "x-amz-content-sha256": payload}
    headers["authorization"] = raw if raw is not None else _authorization(cred, signed, sig)
    refused_or_ok(lambda: auth.verify("GET", "/b/k", "", headers, {}, SECRETS, REGION))


@given(st.one_of(signatures, st.text(st.characters(min_codepoint=0x80, max_codepoint=0xFF), min_size=1)))
def test_sigv4_signature_of_a_well_formed_header(sig: str) -> None:
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {"host": "h", "x-amz-date": date, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    headers["authorization"] = _authorization(
        f"{ACCESS_KEY}/{date[:8]}/us-east-1/s3/aws4_request", "host;x-amz-content-sha256;x-amz-date", sig
    )
    refused_or_ok(lambda: auth.verify("GET", "/b/k", "", headers, {}, SECRETS, REGION))


@given(
    st.dictionaries(
        st.sampled_from(
            ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
             "X-Amz-Signature", "X-Amz-Security-Token"]
        ),
        values,
    ),
    credentials,
    amz_dates,
    numbers,
)  # fmt: skip
def test_sigv4_presigned(extra: dict[str, str], cred: str, date: str, expires: str) -> None:
    q = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": cred, "X-Amz-Date": date,
         "X-Amz-Expires": expires, "X-Amz-SignedHeaders": "host", "X-Amz-Signature": "0" * 64, **extra}  # fmt: skip
    raw = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in q.items())
    refused_or_ok(lambda: auth.verify("GET", "/b/k", raw, {"host": "127.0.0.1"}, parse_query(raw), SECRETS, REGION))


@given(
    st.one_of(st.builds(lambda ak, sig: f"AWS {ak}:{sig}", st.sampled_from([ACCESS_KEY, "", "X"]), values), values),
    st.dictionaries(st.sampled_from(["date", "x-amz-date", "content-md5", "content-type"]), values),
    st.dictionaries(st.sampled_from(["AWSAccessKeyId", "Signature", "Expires"]), values),
)
def test_sigv2(authorization: str, headers: dict[str, str], query: dict[str, str]) -> None:
    h = {"authorization": authorization, **headers} if not query else headers

    def run() -> None:
        if auth_v2.applies(h, query):
            auth_v2.verify("GET", "/b/k", h, query, SECRETS)

    refused_or_ok(run)


EXPIRES_NOW = 1_700_000_000.0


@given(st.one_of(values, st.text(), st.text("0123456789", min_size=300, max_size=5000), st.integers().map(str)))
def test_sigv2_expires(expires: str) -> None:
    """Whatever Expires says, a wrong signature is refused with a 403 before or after it is read."""
    query = {"AWSAccessKeyId": ACCESS_KEY, "Signature": "x", "Expires": expires}
    try:
        auth_v2.verify("GET", "/b/k", {}, query, SECRETS, now=EXPIRES_NOW)
    except S3Error as e:
        assert (e.status, e.code) in ((403, "AccessDenied"), (403, "SignatureDoesNotMatch")), e
    else:
        raise AssertionError("a wrong signature was accepted")


@given(st.one_of(values, st.text(), st.floats().map(str), st.integers().map(str)))
def test_flush_timeout(value: str) -> None:
    """The admin flush's ?timeout=: a finite number of seconds from 0 to the maximum, or InvalidArgument."""
    try:
        timeout = flush_timeout(value)
    except S3Error as e:
        assert (e.status, e.code) == (400, "InvalidArgument"), e
    else:
        assert 0 <= timeout <= MAX_FLUSH_TIMEOUT


# ---------- request bodies ----------
async def _ok_app(_: Any) -> Response:
    return Response(200, [])


def _body(data: bytes, pieces: int) -> Body:
    """A request body as the server hands it over, fed in ``pieces`` parts."""
    conn = HttpConnection(_ok_app, lambda e: Response(500, []))
    body = Body(conn)
    step = max(1, len(data) // max(1, pieces))
    for i in range(0, len(data), step):
        body.feed(data[i : i + step])
    body.finish()
    return body


def _auth(mode: str) -> auth.Auth:
    return auth.Auth(
        ACCESS_KEY, mode, "0" * 64, b"k" * 32, "20250101/us-east-1/s3/aws4_request", "20250101T000000Z", False
    )


chunk_lines = st.one_of(
    st.builds(lambda n, ext: f"{n}{ext}\r\n".encode(), st.one_of(numbers, st.integers(0, 64).map(lambda i: f"{i:x}")),
              st.sampled_from(["", ";chunk-signature=" + "0" * 64, ";x"])),
    st.binary(max_size=40),
    st.builds(lambda t: f"{t}\r\n".encode(), header_text),
)  # fmt: skip
chunked_bodies = st.lists(st.one_of(chunk_lines, st.binary(max_size=64), st.just(b"\r\n")), max_size=12).map(b"".join)


@given(
    chunked_bodies,
    st.sampled_from(sorted(STREAMING)),
    st.one_of(numbers, st.integers(0, 300).map(str)),
    st.dictionaries(st.sampled_from(["x-amz-trailer", "x-amz-checksum-crc32", "content-md5"]), values, max_size=2),
    st.integers(1, 4),
)
def test_aws_chunked_decoder(data: bytes, mode: str, length: str, extra: dict[str, str], pieces: int) -> None:
    async def run() -> None:
        headers = {"x-amz-decoded-content-length": length, "content-length": str(len(data)), **extra}
        payload = Payload(headers, _auth(mode), _body(data, pieces), checksum_algorithm="CRC64NVME")
        await payload.read_all(1 << 20)
        payload.finish()

    asyncio.run(_refused_or_ok_async(run()))


@given(
    st.binary(max_size=200),
    st.one_of(numbers, st.integers(0, 250).map(str)),
    st.sampled_from(["0" * 64, "UNSIGNED-PAYLOAD"]),
)
def test_plain_payload(data: bytes, length: str, mode: str) -> None:
    async def run() -> None:
        payload = Payload({"content-length": length}, _auth(mode), _body(data, 2))
        await payload.read_all(1 << 20)
        payload.finish()

    asyncio.run(_refused_or_ok_async(run()))


# ---------- PostObject ----------
form_parts = st.one_of(
    st.builds(
        lambda name, value: f'--BOUND\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode(
            "utf-8", "surrogatepass"
        ),
        st.one_of(st.sampled_from(["key", "policy", "file", "FILE", "x-amz-signature", ""]), values),
        values,
    ),
    st.just(b'--BOUND\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\ncontent\r\n'),
    st.just(b"--BOUND--\r\n"),
    st.binary(max_size=60),
)


@given(
    st.lists(form_parts, max_size=6).map(b"".join),
    st.one_of(st.just("multipart/form-data; boundary=BOUND"), values),
    st.integers(1, 4),
)
def test_form_data(data: bytes, content_type: str, pieces: int) -> None:
    async def run() -> None:
        body = _body(data, pieces)

        async def chunks() -> AsyncIterator[bytes]:
            async for c in body:
                yield c

        form = FormReader(chunks(), boundary_of(content_type))
        await form.read_fields()
        async for _ in form.file_chunks():
            pass

    asyncio.run(_refused_or_ok_async(run()))


form_fields = st.dictionaries(st.one_of(values, st.sampled_from(["key", "bucket", "content-type"])), values)


@given(live_policies, form_fields)
def test_post_policy_conditions(policy: dict[str, Any], fields: dict[str, str]) -> None:
    refused_or_ok(lambda: check_policy(policy, fields, time.time()))


@given(policies, form_fields)
def test_post_policy(policy: Any, fields: dict[str, str]) -> None:
    if not isinstance(policy, dict):  # what verify_signature hands over is always a JSON object
        return
    refused_or_ok(lambda: check_policy(policy, fields, time.time()))


def test_the_fuzzed_signature_is_checked() -> None:
    """The properties above are not vacuous: a well-formed header with a wrong signature is refused, not accepted."""
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {"host": "h", "x-amz-date": date, "x-amz-content-sha256": hashlib.sha256(b"").hexdigest()}
    headers["authorization"] = _authorization(
        f"{ACCESS_KEY}/{date[:8]}/us-east-1/s3/aws4_request", "host;x-amz-content-sha256;x-amz-date", "0" * 64
    )
    try:
        auth.verify("GET", "/b/k", "", headers, {}, SECRETS, REGION)
    except S3Error as e:
        assert e.code == "SignatureDoesNotMatch"
    else:
        raise AssertionError("a zero signature was accepted")
