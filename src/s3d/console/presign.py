"""SigV4 presigned URLs made with the signed-in user's own keys (botocore's query-string signer).

The console never calls the store itself: the browser asks for a presigned URL, then sends that request to the
daemon, where it is authenticated and authorized like any other S3 or admin request of the same user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

SERVICE = "s3"
ACTION_SECONDS = 300  # the lifetime of a URL the console signs for its own next request
MAX_SECONDS = 7 * 24 * 3600  # S3's longest presigned lifetime (a shared download link)
METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
ADMIN_PREFIX = "/_s3d/"  # the daemon's own endpoints, signed the same way
KEY_SAFE = "/~"  # characters botocore leaves unquoted in an S3 key


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
    if key is None or key == "":
        return "/" + quote(bucket, safe="")
    return f"/{quote(bucket, safe='')}/{quote(key, safe=KEY_SAFE)}"


def parse(raw: object) -> Wanted:
    """One entry of the browser's list: {method, bucket?, key?, admin?, query?, headers?, expires?}."""
    if not isinstance(raw, dict):
        raise SignError("each request must be an object")
    method = raw.get("method")
    if method not in METHODS:
        raise SignError(f"method must be one of {sorted(METHODS)}")
    admin = raw.get("admin")
    if admin is not None:
        if not isinstance(admin, str) or not admin.startswith(ADMIN_PREFIX) or "?" in admin:
            raise SignError(f"admin must be a path under {ADMIN_PREFIX}")
        path = admin
    else:
        bucket, key = raw.get("bucket"), raw.get("key")
        if not (bucket is None or isinstance(bucket, str)) or not (key is None or isinstance(key, str)):
            raise SignError("bucket and key must be strings")
        if key is not None and not bucket:
            raise SignError("a key needs a bucket")
        path = s3_path(bucket, key)
    query, headers = raw.get("query") or {}, raw.get("headers") or {}
    for name, table in (("query", query), ("headers", headers)):
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            raise SignError(f"{name} must map strings to strings")
    expires = raw.get("expires", ACTION_SECONDS)
    if not isinstance(expires, int) or isinstance(expires, bool) or not 1 <= expires <= MAX_SECONDS:
        raise SignError(f"expires must be whole seconds from 1 to {MAX_SECONDS}")
    return Wanted(method, path, dict(query), {k.lower(): v for k, v in headers.items()}, expires)


def presign(w: Wanted, host: str, access_key: str, secret_key: str, region: str) -> str:
    """The request's URL (path and query, relative to this daemon) with SigV4 query authentication."""
    # imported here: botocore is ~20 MiB in every process, and a daemon without a remote needs it only for this
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=w.method, url=f"http://{host}{w.path}", headers=dict(w.headers), params=dict(w.query))
    S3SigV4QueryAuth(Credentials(access_key, secret_key), SERVICE, region, expires=w.expires).add_auth(request)
    url: str = request.url
    return url[len(f"http://{host}") :]
