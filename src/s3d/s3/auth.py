"""AWS Signature Version 4: Authorization header and presigned query strings.

Verification rebuilds the canonical request from what arrived on the wire and
compares signatures in constant time. Derived signing keys are cached per
(secret, date, region) since deriving one costs four HMACs.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

from s3d.s3.errors import S3Error

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
MAX_SKEW = 15 * 60
MAX_EXPIRES = 7 * 24 * 3600
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
V4_QUERY_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
V2_QUERY_PARAMETERS = ("AWSAccessKeyId", "Signature")
ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
)

_key_cache: dict[tuple[str, str, str, str], bytes] = {}
PRESIGNED_CACHE = 4096
_presigned_ok: dict[tuple[str, str, str, str, str], Auth] = {}


@dataclass(slots=True)
class Auth:
    access_key: str
    payload_hash: str  # the declared x-amz-content-sha256 (UNSIGNED-PAYLOAD for presigned)
    signature: str
    signing_key: bytes
    scope: str
    amz_date: str
    presigned: bool


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    k = (secret, date, region, service)
    key = _key_cache.get(k)
    if key is None:
        key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
        for part in (region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if len(_key_cache) > 1024:
            _key_cache.clear()
        _key_cache[k] = key
    return key


def sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


PAYLOAD_MODES = (
    UNSIGNED,
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
)
BAD_PAYLOAD_HASH = "x-amz-content-sha256 must be " + ", ".join(PAYLOAD_MODES) + " or a valid sha256 value."
_HEX = frozenset("0123456789abcdefABCDEF")


def valid_payload_hash(value: str) -> bool:
    return value in PAYLOAD_MODES or (len(value) == 64 and all(c in _HEX for c in value))


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _skew_details(amz_date: str, now: float) -> dict[str, str]:
    return {
        "RequestTime": amz_date,
        "ServerTime": _iso(now),
        "MaxAllowedSkewMilliseconds": str(MAX_SKEW * 1000),
    }


def parse_amz_date(value: str) -> float:
    """YYYYMMDDTHHMMSSZ to a timestamp (by hand: time.strptime costs tens of microseconds)."""
    try:
        if len(value) != 16 or value[8] != "T" or value[15] != "Z":
            raise ValueError(value)
        y, mo, d = int(value[0:4]), int(value[4:6]), int(value[6:8])
        h, mi, sec = int(value[9:11]), int(value[11:13]), int(value[13:15])
        if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec < 62):
            raise ValueError(value)
        return float(calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)))
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def _canonical_uri_candidates(raw_path: str) -> list[str]:
    normalized = quote(unquote(raw_path), safe="/~")
    return [normalized] if normalized == raw_path else [normalized, raw_path]


def _canonical_query(raw_query: str, drop: str | None) -> list[str]:
    pairs: list[tuple[str, str]] = []
    raw_pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        dk = unquote_plus(k)
        if dk == drop:
            continue
        pairs.append((quote(dk, safe="-_.~"), quote(unquote_plus(v), safe="-_.~")))
        raw_pairs.append((k, v))
    first = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    second = "&".join(f"{k}={v}" for k, v in sorted(raw_pairs))
    return [first] if first == second else [first, second]


def _canonical_headers(headers: dict[str, str], signed: list[str]) -> list[str]:
    """The canonical header block; a second reading if values carry UTF-8 bytes.

    Header bytes arrive decoded as Latin-1; a client that sent UTF-8 (a non-ASCII
    x-amz-meta-* value) signed the UTF-8 reading of the same bytes.
    """
    out = []
    for name in signed:
        value = headers.get(name)
        if value is None:
            raise S3Error("SignatureDoesNotMatch", f"Signed header {name} is missing")
        out.append(f"{name}:{' '.join(value.split())}\n")
    block = "".join(out)
    if block.isascii():
        return [block]
    try:
        utf8 = block.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return [block]
    return [block, utf8]


def _parse_credential(cred: str, query: bool, region: str) -> tuple[str, str, str, str]:
    code = "AuthorizationQueryParametersError" if query else "AuthorizationHeaderMalformed"
    lead = "Error parsing the X-Amz-Credential parameter" if query else "The authorization header is malformed"
    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise S3Error(
            code, f'{lead}; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    access_key, date, cred_region, service, _ = parts
    if cred_region != region:
        raise S3Error(
            code, f"{lead}; the region '{cred_region}' is wrong; expecting '{region}'", extra={"Region": region}
        )
    if service != SERVICE:
        raise S3Error(code, f'{lead}; incorrect service "{service}". This endpoint belongs to "{SERVICE}".')
    return access_key, date, cred_region, service


def _parse_authorization(value: str) -> dict[str, str]:
    algo, _, rest = value.partition(" ")
    if algo != ALGORITHM:
        if algo == "AWS":
            raise S3Error("InvalidRequest", "Signature Version 2 is not supported: use AWS4-HMAC-SHA256.")
        raise S3Error("AuthorizationHeaderMalformed", f"Unsupported algorithm {algo!r}")
    fields = {}
    for item in rest.split(","):
        k, _, v = item.strip().partition("=")
        fields[k] = v
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in fields:
            raise S3Error("AuthorizationHeaderMalformed", f"The authorization header is missing {need}")
    return fields


def refuse_mixed_mechanisms(headers: dict[str, str], query: dict[str, str]) -> None:
    """A request signs one way: the Authorization header (V2 or V4), V4 query parameters or V2 ones."""
    used = (
        "authorization" in headers,
        any(p in query for p in V4_QUERY_PARAMETERS),
        any(p in query for p in V2_QUERY_PARAMETERS),
    )
    if sum(used) > 1:
        raise S3Error("InvalidArgument", ONE_MECHANISM)


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    query: dict[str, str],
    secrets: dict[str, str],
    region: str,
    now: float | None = None,
) -> Auth | None:
    """Check the request's signature. None means the request is anonymous."""
    now = time.time() if now is None else now
    refuse_mixed_mechanisms(headers, query)
    authz = headers.get("authorization")
    if authz is not None:
        f = _parse_authorization(authz)
        access_key, date, cred_region, service = _parse_credential(f["Credential"], False, region)
        signed = f["SignedHeaders"].split(";")
        signature = f["Signature"]
        amz_date = headers.get("x-amz-date") or ""
        if amz_date:
            ts = parse_amz_date(amz_date)
        else:
            from email.utils import parsedate_to_datetime

            try:
                ts = parsedate_to_datetime(headers.get("date", "")).timestamp()
            except (TypeError, ValueError):
                raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts))
        if abs(now - ts) > MAX_SKEW:
            raise S3Error("RequestTimeTooSkewed", extra=_skew_details(amz_date, now))
        payload_hash = headers.get("x-amz-content-sha256")
        if payload_hash is None:
            raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if not valid_payload_hash(payload_hash):
            raise S3Error("InvalidArgument", BAD_PAYLOAD_HASH)
        drop = None
        presigned = False
    elif "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports AWS4-HMAC-SHA256")
        for need in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"):
            if need not in query:
                raise S3Error("AuthorizationQueryParametersError", f"Query-string authentication requires {need}")
        access_key, date, cred_region, service = _parse_credential(query["X-Amz-Credential"], True, region)
        signed = query["X-Amz-SignedHeaders"].split(";")
        signature = query["X-Amz-Signature"]
        amz_date = query["X-Amz-Date"]
        ts = parse_amz_date(amz_date)
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number") from None
        if expires > MAX_EXPIRES:
            raise S3Error(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
            )
        if expires < 0 or now > ts + expires:
            raise S3Error(
                "AccessDenied",
                "Request has expired",
                extra={
                    "X-Amz-Expires": str(expires),
                    "Expires": _iso(ts + expires),
                    "ServerTime": _iso(now),
                },
            )
        if ts - now > MAX_SKEW:
            raise S3Error("AccessDenied", "Request is not valid yet")
        payload_hash = query.get("X-Amz-Content-Sha256", UNSIGNED)
        drop = "X-Amz-Signature"
        presigned = True
    else:
        return None

    secret = secrets.get(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId")
    if date != amz_date[:8]:
        raise S3Error("SignatureDoesNotMatch", "Credential date does not match X-Amz-Date")
    if "host" not in signed:
        raise S3Error("AccessDenied", "Host must be a signed header")
    readings = _canonical_headers(headers, signed)
    canon_headers = readings[0]
    if presigned:
        # A presigned URL is a bearer token: once its signature checked out, the same URL with the
        # same signed header values is the same request (its expiry is still checked above, every time).
        cache_key = (method, raw_path, raw_query, canon_headers, secret)
        known = _presigned_ok.get(cache_key)
        if known is not None:
            return known
    key = signing_key(secret, date, cred_region, service)
    scope = f"{date}/{cred_region}/{service}/aws4_request"
    signed_str = ";".join(signed)
    given = signature.encode()  # bytes: compare_digest refuses non-ASCII str
    for uri in _canonical_uri_candidates(raw_path):
        for q in _canonical_query(raw_query, drop):
            for block in readings:
                creq = f"{method}\n{uri}\n{q}\n{block}\n{signed_str}\n{payload_hash}"
                sts = f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
                if not hmac.compare_digest(sign(key, sts).encode(), given):
                    continue
                a = Auth(access_key, payload_hash, signature, key, scope, amz_date, presigned)
                if presigned:
                    if len(_presigned_ok) >= PRESIGNED_CACHE:
                        _presigned_ok.pop(next(iter(_presigned_ok)))
                    _presigned_ok[cache_key] = a
                return a
    raise S3Error("SignatureDoesNotMatch")
