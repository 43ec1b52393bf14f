"""A seeded raw-socket mutation run against a live daemon: valid requests of every kind, mutated and re-signed.

Two kinds of requests go out: byte-level mutations of validly signed requests (most then fail their
signature, which exercises everything before authentication: framing, head parsing, addressing, auth),
and structured mutations (a header, query parameter or body swapped for a hostile value) signed
afterwards, so the request reaches the handlers. ``run`` returns every status line seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.fuzz.strategies import NASTY_NUMBERS, NASTY_STRINGS
from tests.support.chunked import Signer, now_amz
from tests.support.rawhttp import head_bytes, presign, sign

STATUS = re.compile(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3}) ")
UNSIGNED = "UNSIGNED-PAYLOAD"
RECV_TIMEOUT = 3.0
NASTY_VALUES = NASTY_NUMBERS + NASTY_STRINGS + ["bytes=0-", "bytes=-0", "bytes=5-1", "bytes=0-0,1-1", "bytes=\xb2-"]
HEADERS_TO_MUTATE = [
    "Content-Length", "x-amz-decoded-content-length", "Range", "Content-MD5", "x-amz-content-sha256",
    "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm", "x-amz-trailer", "x-amz-tagging", "x-amz-meta-m",
    "x-amz-copy-source", "x-amz-copy-source-range", "If-Match", "If-None-Match", "If-Modified-Since",
    "x-amz-storage-class", "Content-Type", "Content-Encoding", "Transfer-Encoding", "Expect", "Host", "Origin",
    "Access-Control-Request-Method", "x-amz-date", "Date", "x-amz-server-side-encryption", "x-amz-acl",
]  # fmt: skip
QUERY_TO_MUTATE = [
    "list-type", "max-keys", "prefix", "delimiter", "continuation-token", "start-after", "encoding-type", "marker",
    "uploads", "uploadId", "partNumber", "part-number-marker", "max-parts", "max-uploads", "tagging", "cors",
    "delete", "location", "versioning", "acl", "attributes", "response-content-type", "versionId", "X-Amz-Expires",
]  # fmt: skip


@dataclass
class Template:
    """A request before signing: mutated structurally, then signed."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Target:
    endpoint: str
    port: int
    access_key: str
    secret_key: str
    bucket: str


def _md5(b: bytes) -> str:
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def templates(t: Target) -> list[Template]:
    b = t.bucket
    delete = b"<Delete><Quiet>true</Quiet><Object><Key>gone</Key></Object></Delete>"
    tagging = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"
    cors = (
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        b"<MaxAgeSeconds>10</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    )
    complete = (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"
    )
    create = (
        b"<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"
    )
    return [
        Template("PUT", f"/{b}/obj", headers={"x-amz-meta-m": "v", "Content-Type": "text/plain"}, body=b"hello world"),
        Template("GET", f"/{b}/obj", headers={"Range": "bytes=0-4"}),
        Template("HEAD", f"/{b}/obj", headers={"If-None-Match": '"x"'}),
        Template("GET", f"/{b}", query={"list-type": "2", "prefix": "o", "delimiter": "/", "max-keys": "5"}),
        Template("GET", f"/{b}", query={"prefix": "", "marker": "a", "encoding-type": "url"}),
        Template("POST", f"/{b}", query={"delete": ""}, headers={"Content-MD5": _md5(delete)}, body=delete),
        Template("PUT", f"/{b}/obj", query={"tagging": ""}, body=tagging),
        Template("PUT", f"/{b}", query={"cors": ""}, headers={"Content-MD5": _md5(cors)}, body=cors),
        Template("POST", f"/{b}/mp", query={"uploads": ""}),
        Template("PUT", f"/{b}/mp", query={"partNumber": "1", "uploadId": "nope"}, body=b"part"),
        Template("POST", f"/{b}/mp", query={"uploadId": "nope"}, body=complete),
        Template("PUT", f"/{b}/copy", headers={"x-amz-copy-source": f"/{b}/obj"}),
        Template("GET", f"/{b}/obj", query={"partNumber": "1"}),
        Template("GET", f"/{b}/obj", query={"attributes": ""}, headers={"x-amz-object-attributes": "ETag"}),
        Template("PUT", "/fuzz-new-bucket", body=create),
        Template("GET", "/"),
        Template("GET", "/_s3d/status"),
        Template("POST", "/_s3d/queue/discard", query={"bucket": b, "key": "obj"}),
        Template("DELETE", f"/{b}/gone"),
    ]


def signed(t: Target, tpl: Template, payload_hash: str | None = UNSIGNED) -> bytes:
    target, headers = sign(
        t.endpoint, tpl.method, tpl.path, access_key=t.access_key, secret_key=t.secret_key, query=tpl.query,
        headers=tpl.headers, body=tpl.body, payload_hash=payload_hash,
    )  # fmt: skip
    return head_bytes(tpl.method, target, headers) + tpl.body


def chunked_put(t: Target, data: bytes) -> bytes:
    signer = Signer(t.access_key, t.secret_key)
    body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n"
    crc = base64.b64encode(hashlib.sha256(data).digest()).decode()
    body += f"x-amz-checksum-sha256:{crc}\r\n\r\n".encode()
    headers = {
        "Host": f"127.0.0.1:{t.port}", "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-sha256",
        "x-amz-decoded-content-length": str(len(data)), "Content-Length": str(len(body)),
    }  # fmt: skip
    signer.sign("PUT", f"/{t.bucket}/chunked", headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", now_amz())
    return head_bytes("PUT", f"/{t.bucket}/chunked", headers) + body


def post_form(t: Target) -> bytes:
    now = datetime.now(UTC)
    date = now.strftime("%Y%m%d")
    policy = {
        "expiration": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [{"bucket": t.bucket}, ["starts-with", "$key", ""], ["content-length-range", 0, 100]],
    }
    policy_b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    key = ("AWS4" + t.secret_key).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    fields = {
        "key": "posted", "x-amz-algorithm": "AWS4-HMAC-SHA256", "policy": policy_b64,
        "x-amz-credential": f"{t.access_key}/{date}/us-east-1/s3/aws4_request", "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-signature": hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest(),
    }  # fmt: skip
    body = b"".join(
        f'--BND\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    body += b'--BND\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nposted data\r\n--BND--\r\n'
    head = (
        f"POST /{t.bucket} HTTP/1.1\r\nHost: 127.0.0.1:{t.port}\r\n"
        f"Content-Type: multipart/form-data; boundary=BND\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def presigned_get(t: Target) -> bytes:
    url = presign(t.endpoint, "GET", f"/{t.bucket}/obj", access_key=t.access_key, secret_key=t.secret_key)
    target = url[len(t.endpoint) :]
    return head_bytes("GET", target, {"Host": f"127.0.0.1:{t.port}"})


def seeds(t: Target) -> list[bytes]:
    """Validly signed requests of every kind s3d parses."""
    out = [signed(t, tpl) for tpl in templates(t)]
    out.append(signed(t, Template("PUT", f"/{t.bucket}/sha", body=b"payload"), payload_hash=None))
    out += [chunked_put(t, b"chunked data"), post_form(t), presigned_get(t)]
    out.append(head_bytes("OPTIONS", f"/{t.bucket}/obj", {"Host": "h", "Origin": "http://a", "Access-Control-Request-Method": "GET"}))  # fmt: skip
    return out


# ---------- mutations ----------
def _nasty(rng: random.Random) -> str:
    return rng.choice(NASTY_VALUES)


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:  # flip a byte
            b[min(i, len(b) - 1)] = rng.randrange(256)
        elif op == 1:  # insert random bytes
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 2:  # delete a span
            del b[i : i + rng.randint(1, 16)]
        elif op == 3:  # duplicate a span
            b[i:i] = b[i : i + rng.randint(1, 64)]
        elif op == 4:  # truncate
            del b[i:]
        elif op == 5:  # a number becomes a hostile number
            nums = list(re.finditer(rb"\d+", bytes(b)))
            if nums:
                m = rng.choice(nums)
                b[m.start() : m.end()] = _nasty(rng).encode("utf-8", "surrogatepass")
        elif op == 6:  # a hostile header line before the end of the head
            end = bytes(b).find(b"\r\n\r\n")
            if end >= 0:
                line = f"\r\n{rng.choice(HEADERS_TO_MUTATE)}: {_nasty(rng)}".encode("utf-8", "surrogatepass")
                b[end:end] = line
        else:  # special characters in the request target
            sp = bytes(b).find(b" /")
            if sp >= 0:
                b[sp + 2 : sp + 2] = rng.choice([b"%00", b"%", b"%zz", b"..", b"//", b"?", b"#", b"\xff", b"%C0%AF"])
    return bytes(b)


def mutate_template(rng: random.Random, t: Target, tpl: Template) -> bytes:
    tpl = Template(tpl.method, tpl.path, dict(tpl.query), dict(tpl.headers), tpl.body)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        if op == 0:
            tpl.headers[rng.choice(HEADERS_TO_MUTATE)] = _nasty(rng)
        elif op == 1:
            tpl.query[rng.choice(QUERY_TO_MUTATE)] = _nasty(rng)
        elif op == 2 and tpl.body:
            tpl.body = mutate_bytes(rng, tpl.body)
        elif op == 3:
            tpl.path = tpl.path + "/" + rng.choice(["%00", "a%01b", "%ff", "x" * 1100, "..", "%2F", "\u00e9"])
        else:
            tpl.method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "BREW"])
    ascii_only = {k: v for k, v in tpl.headers.items() if v.isascii() and "\r" not in v and "\n" not in v}
    tpl.headers = ascii_only
    try:
        return signed(t, tpl)
    except (ValueError, UnicodeError):  # a value botocore will not sign: send it unsigned instead
        return head_bytes(tpl.method, tpl.path, {"Host": "h"}) + tpl.body


def exchange(port: int, data: bytes) -> bytes:
    """Send one request on a fresh connection, half-close, and read until the daemon closes (or goes quiet)."""
    out = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=RECV_TIMEOUT) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
    except (TimeoutError, ConnectionResetError, BrokenPipeError):
        pass
    return out


def run(t: Target, *, seed: int, count: int, seconds: float, threads: int = 4) -> list[tuple[int, bytes]]:
    """Send ``count`` mutated requests (stopping after ``seconds``); (status, request) for every answer seen."""
    rng = random.Random(seed)
    base = seeds(t)
    tpls = templates(t)
    requests = []
    for _ in range(count):
        if rng.random() < 0.5:
            requests.append(mutate_bytes(rng, rng.choice(base)))
        else:
            requests.append(mutate_template(rng, t, rng.choice(tpls)))
    deadline = time.monotonic() + seconds
    seen: list[tuple[int, bytes]] = []

    def one(req: bytes) -> list[tuple[int, bytes]]:
        if time.monotonic() > deadline:
            return []
        return [(int(m.group(1)), req) for m in STATUS.finditer(exchange(t.port, req))]

    with ThreadPoolExecutor(threads) as pool:
        for answers in pool.map(one, requests):
            seen += answers
    return seen
