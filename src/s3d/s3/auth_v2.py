"""AWS Signature Version 2 (header ``AWS key:sig`` and query ``AWSAccessKeyId/Signature/Expires``).

Still what boto3's generate_presigned_url produces by default for S3 in
us-east-1, and what older tools send. Payloads are not signed in V2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import parsedate_to_datetime

from s3d.s3.auth import MAX_EXPIRES, MAX_SKEW, UNSIGNED, Auth, refuse_mixed_mechanisms
from s3d.s3.errors import S3Error

SUBRESOURCES = frozenset(
    "accelerate acl analytics attributes cors defaultObjectAcl delete inventory lifecycle location logging metrics "
    "notification object-lock partNumber policy replication requestPayment restore select select-type storageClass "
    "tagging torrent uploadId uploads versionId versioning versions website "
    "response-cache-control response-content-disposition response-content-encoding response-content-language "
    "response-content-type response-expires".split()
)
MAX_EXPIRES_DIGITS = 64  # far beyond a week from any real now; longer ones are not converted (int() is quadratic)
TOO_FAR_AHEAD = "Query-string authentication: Expires must be less than a week (604800 seconds) from now"


def applies(headers: dict[str, str], query: dict[str, str]) -> bool:
    return headers.get("authorization", "").startswith("AWS ") or "AWSAccessKeyId" in query


def string_to_sign(method: str, resource: str, query: dict[str, str], headers: dict[str, str], date: str) -> str:
    amz = sorted((k, v.strip()) for k, v in headers.items() if k.startswith("x-amz-"))
    canon_amz = "".join(f"{k}:{v}\n" for k, v in amz)
    subs = sorted((k, v) for k, v in query.items() if k in SUBRESOURCES)
    if subs:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)
    return "\n".join(
        [method, headers.get("content-md5", ""), headers.get("content-type", ""), date, canon_amz + resource]
    )


def _check_expires(value: str, now: float) -> None:
    """The Expires query parameter: seconds since the epoch (ASCII digits), not past, at most a week ahead."""
    if not (value.isascii() and value.isdigit()):
        raise S3Error(
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        )
    expires = int(value) if len(value) <= MAX_EXPIRES_DIGITS else None
    if expires is not None and now > expires:
        raise S3Error("AccessDenied", "Request has expired")
    if expires is None or expires > now + MAX_EXPIRES:  # int against float compares exactly, however large
        raise S3Error("AccessDenied", TOO_FAR_AHEAD)


def verify(
    method: str,
    resource: str,
    headers: dict[str, str],
    query: dict[str, str],
    secrets: dict[str, str],
    now: float | None = None,
) -> Auth:
    """resource is the canonical resource: /bucket/key as sent (still URL-encoded), or / for the service."""
    now = time.time() if now is None else now
    refuse_mixed_mechanisms(headers, query)
    authz = headers.get("authorization", "")
    if authz.startswith("AWS "):
        access_key, _, signature = authz[4:].strip().rpartition(":")
        if "x-amz-date" in headers:
            date, when = "", headers["x-amz-date"]
        else:
            date = when = headers.get("date", "")
        try:
            ts = parsedate_to_datetime(when).timestamp()
        except (TypeError, ValueError):
            raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None
        if abs(now - ts) > MAX_SKEW:
            raise S3Error("RequestTimeTooSkewed")
        presigned = False
    else:
        access_key, signature, date = (
            query.get("AWSAccessKeyId", ""),
            query.get("Signature", ""),
            query.get("Expires", ""),
        )
        _check_expires(date, now)
        presigned = True
    secret = secrets.get(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId")
    # a bucket-level resource is signed as "/bucket/" by botocore and as "/bucket" by others
    candidates = [resource]
    if resource.count("/") == 1 and len(resource) > 1:
        candidates.append(resource + "/")
    for r in candidates:
        sts = string_to_sign(method, r, query, headers, date)
        want = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
        if hmac.compare_digest(want.encode(), signature.encode()):  # bytes: a non-ASCII str raises
            return Auth(access_key, UNSIGNED, signature, b"", "", "", presigned)
    raise S3Error("SignatureDoesNotMatch")
