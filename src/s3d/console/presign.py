"""SigV4 presigned URLs made with the signed-in user's own keys (botocore's query-string signer).

The console never calls the store itself: the browser asks for a presigned URL, then sends that request to the
daemon, where it is authenticated and authorized like any other S3 or admin request of the same user.

What the browser asks for is untrusted JSON: ``parse`` refuses (SignError) whatever could not be signed, or could
not be sent by a browser as signed (a header it cannot carry, a path it would rewrite), so ``presign`` never fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

SERVICE = "s3"
ACTION_SECONDS = 300  # the lifetime of a URL the console signs for its own next request
MAX_SECONDS = 7 * 24 * 3600  # S3's longest presigned lifetime (a shared download link)
METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
ADMIN_PREFIX = "/_s3d/"  # the daemon's own endpoints, signed the same way
ADMIN_PATH = re.compile(r"/_s3d/[A-Za-z0-9_/-]*")  # their paths: no dots, nothing to quote
KEY_SAFE = "/~"  # characters botocore leaves unquoted in an S3 key
DOT_SEGMENTS = frozenset({".", ".."})  # path segments a browser removes (RFC 3986 5.2.4) before sending
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110 5.6.2)
HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # what fetch() sends as is: Latin-1, no control characters
# headers fetch() will not send as given (the Fetch standard's forbidden request headers): signed, they would fail
FORBIDDEN_HEADERS = frozenset(
    {"accept-charset", "accept-encoding", "access-control-request-headers", "access-control-request-method",
     "connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive", "origin",
     "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via"}
)  # fmt: skip
FORBIDDEN_PREFIXES = ("proxy-", "sec-")
# the query parameters of the signature itself: the signer adds them
AUTH_PARAMS = frozenset(
    p.lower()
    for p in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
              "X-Amz-Signature", "X-Amz-Security-Token")
)  # fmt: skip
HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::([0-9]{1,5}))?")  # a browser's Host: name[:port]
MAX_PORT = 65535


class SignError(ValueError):
    """A signing request the console refuses (the message says why)."""


@dataclass(frozen=True, slots=True)
class Wanted:
    method: str
    path: str  # "/bucket/key" built from bucket and key, or an admin path under ADMIN_PREFIX
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # signed: the browser must send them as given
    expires: int = ACTION_SECONDS


def s3_path(bucket: str | None, key: str | None) -> str:
    if not bucket:
        return "/"
    if not key:
        return "/" + quote(bucket, safe="")
    # a browser would resolve "a/../b" to "b" and send a path other than the one signed: such a key goes as one
    # segment, its slashes quoted (the daemon decodes them as any S3 server does)
    safe = KEY_SAFE if DOT_SEGMENTS.isdisjoint(key.split("/")) else "~"
    return f"/{quote(bucket, safe='')}/{quote(key, safe=safe)}"


def _text(value: object, what: str) -> str:
    """A string that can be sent as UTF-8 (JSON lets a lone surrogate through)."""
    if not isinstance(value, str):
        raise SignError(f"{what} must be a string")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise SignError(f"{what} is not valid Unicode text") from None
    return value


def _table(value: object, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SignError(f"{what} must map strings to strings")
    return {_text(k, f"a {what} name"): _text(v, f"a {what} value") for k, v in value.items()}


def _path(raw: dict[str, object]) -> str:
    admin = raw.get("admin")
    if admin is not None:
        if not isinstance(admin, str) or not ADMIN_PATH.fullmatch(admin):
            raise SignError(f"admin must be a path under {ADMIN_PREFIX} (letters, digits, _, - and /)")
        return admin
    bucket = None if raw.get("bucket") is None else _text(raw.get("bucket"), "bucket")
    key = None if raw.get("key") is None else _text(raw.get("key"), "key")
    if key is not None and not bucket:
        raise SignError("a key needs a bucket")
    if key == "":
        raise SignError("a key is at least one character (leave it out for a bucket's own requests)")
    if key in DOT_SEGMENTS:
        raise SignError(f"a browser cannot send a request for the key {key!r} (it removes it from the URL)")
    return s3_path(bucket, key)


def _forbidden(name: str) -> bool:
    lower = name.lower()
    return lower in FORBIDDEN_HEADERS or lower.startswith(FORBIDDEN_PREFIXES)


def parse(raw: object) -> Wanted:
    """One entry of the browser's list: {method, bucket?, key?, admin?, query?, headers?, expires?}."""
    if not isinstance(raw, dict):
        raise SignError("each request must be an object")
    method = raw.get("method")
    if not isinstance(method, str) or method not in METHODS:
        raise SignError(f"method must be one of {sorted(METHODS)}")
    path = _path(raw)
    query, headers = _table(raw.get("query"), "query"), _table(raw.get("headers"), "headers")
    if any(k.lower() in AUTH_PARAMS for k in query):
        raise SignError("the query may not carry the signature's own parameters")
    for name, value in headers.items():
        if not HEADER_NAME.fullmatch(name) or not HEADER_VALUE.fullmatch(value) or _forbidden(name):
            raise SignError(f"a browser cannot send the header {name!r} with that value")
    expires = raw.get("expires", ACTION_SECONDS)
    if not isinstance(expires, int) or isinstance(expires, bool) or not 1 <= expires <= MAX_SECONDS:
        raise SignError(f"expires must be whole seconds from 1 to {MAX_SECONDS}")
    return Wanted(method, path, query, {k.lower(): v for k, v in headers.items()}, expires)


def check_host(host: str) -> str:
    """The request's Host header, which the URL is signed for: a name or [address], and a port."""
    m = HOST.fullmatch(host)
    if m is None or (m[1] is not None and int(m[1]) > MAX_PORT):
        raise SignError("the Host header is not a host name with an optional port")
    return host


def presign(w: Wanted, host: str, access_key: str, secret_key: str, region: str) -> str:
    """The request's URL (path and query, relative to this daemon) with SigV4 query authentication."""
    # imported here: botocore is ~20 MiB in every process, and a daemon without a remote needs it only for this
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=w.method, url=f"http://{host}{w.path}", headers=dict(w.headers), params=dict(w.query))
    S3SigV4QueryAuth(Credentials(access_key, secret_key), SERVICE, region, expires=w.expires).add_auth(request)
    url = urlsplit(request.url)
    return f"{url.path}?{url.query}"
