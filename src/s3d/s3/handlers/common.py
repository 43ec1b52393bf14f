"""Helpers shared by the handlers: object headers, metadata, tags, conditionals, ranges."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from s3d import user_metadata
from s3d.access import authorize
from s3d.access.actions import BYPASS_GOVERNANCE_RETENTION
from s3d.s3 import checksums, integers, xml
from s3d.s3.errors import S3Error
from s3d.s3.payload import Payload
from s3d.server.http import Response
from s3d.store import lifecycle, locks, versions
from s3d.store.buckets import OBJECT_LOCK, VERSIONING, Bucket
from s3d.store.dates import LAST_DATE, writable
from s3d.store.lifecycle import LIFECYCLE
from s3d.store.multipart import MAX_PARTS
from s3d.store.objects import Object

if TYPE_CHECKING:
    from s3d.s3.context import Ctx

STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
STORAGE_CLASSES = {
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
}  # fmt: skip
AWS_CHUNKED = "aws-chunked"
MAX_TAGS = 10
RESERVED_TAG_PREFIX = "aws:"  # tag keys AWS keeps for itself
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


_dates: dict[int, str] = {}


def http_date(ts: float) -> str:
    """An HTTP date, memoised per second (Last-Modified of hot objects repeats)."""
    sec = int(ts)
    d = _dates.get(sec)
    if d is None:
        if len(_dates) > 4096:
            _dates.clear()
        d = _dates[sec] = formatdate(sec, usegmt=True)
    return d


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def xml_response(body: bytes, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", "application/xml"), *(headers or [])], body)


def empty(status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, headers or [], b"")


async def read_document(ctx: Ctx, limit: int, headers: dict[str, str] | None = None) -> bytes:
    """A small request body (an XML document), checked against its declared hashes; b"" if none was sent.

    ``headers`` replaces the request's when some of its headers describe something other than the body.
    """
    h = ctx.headers if headers is None else headers
    if "content-length" not in h and "transfer-encoding" not in h:
        return b""
    payload = Payload(h, ctx.auth, ctx.req.body)
    body = await payload.read_all(limit)
    payload.finish()
    return body


def header_value_ok(value: str) -> bool:
    """Whether a value a client gave can be sent back in a response header (latin-1, no control characters
    but tab): a CR or LF would split the response, and a character latin-1 lacks cannot be written at all."""
    return all(c == "\t" or (" " <= c <= "\xff" and c != "\x7f") for c in value)


def user_metadata_of(fields: dict[str, str]) -> dict[str, str]:
    """The ``x-amz-meta-*`` headers (or POST form fields) of a request, RFC 2047 decoded (s3d/user_metadata.py);
    the one reader of user metadata every write uses."""
    try:
        return user_metadata.user_metadata_of(fields)
    except user_metadata.TooLarge as e:
        raise S3Error(e.code, extra={"Size": str(e.size), "MaxSizeAllowed": str(user_metadata.MAX_SIZE)}) from None
    except user_metadata.MetadataError as e:
        raise S3Error(e.code, e.message, extra={"ArgumentName": e.name, "ArgumentValue": e.value}) from None


def metadata_from_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers S3 stores with an object: standard content headers, x-amz-meta-*, storage class."""
    meta: dict[str, str] = {}
    for h in STORED_HEADERS:
        v = headers.get(h)
        if v is not None:
            meta[h] = v
    enc = meta.get("content-encoding")
    if enc is not None and AWS_CHUNKED in enc.lower():
        # aws-chunked names the request's framing, not the object's; the rest is kept as sent
        kept = [e for e in enc.split(",") if e.strip() and e.strip().lower() != AWS_CHUNKED]
        if kept:
            meta["content-encoding"] = ",".join(kept).strip()
        else:
            del meta["content-encoding"]
    meta.update(user_metadata_of(headers))
    sc = headers.get("x-amz-storage-class")
    if sc is not None:
        if sc not in STORAGE_CLASSES:
            raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": sc})
        if sc != "STANDARD":
            meta["x-amz-storage-class"] = sc
    return meta


TAG_SHAPE = xml.Shape({"Key": xml.TEXT, "Value": xml.TEXT})  # a <Tag> of a request document


def validate_tags(tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if len(tags) > MAX_TAGS:
        raise S3Error("InvalidTag", "Object tags cannot be greater than 10")
    seen = set()
    for k, v in tags:
        if not k or len(k) > 128:
            raise S3Error(
                "InvalidTag",
                "The TagKey you have provided is too long, max 128" if k else "The TagKey you have provided is invalid",
            )
        if len(v) > 256:
            raise S3Error("InvalidTag", "The TagValue you have provided is too long, max 256")
        if k in seen:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        if k.lower().startswith(RESERVED_TAG_PREFIX):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:")
        seen.add(k)
    return tags


def tags_from_header(value: str | None) -> list[tuple[str, str]] | None:
    if value is None:
        return None
    return validate_tags(parse_qsl(value, keep_blank_values=True)) or None


def object_headers(obj: Object, checksum_mode: bool) -> list[tuple[str, str]]:
    h = [
        ("ETag", f'"{obj.etag}"'),
        ("Last-Modified", http_date(obj.mtime)),
        ("Accept-Ranges", "bytes"),
    ]
    meta = obj.meta
    if "content-type" not in meta:
        h.append(("Content-Type", DEFAULT_CONTENT_TYPE))
    for k, v in meta.items():
        if k.startswith(user_metadata.PREFIX):
            h.append((k, user_metadata.encode(v)))  # RFC 2047, as S3 answers a value that is not plain ASCII
        elif not k.startswith("x-s3d-"):  # s3d's own bookkeeping, never a client's header
            h.append((k, v))
    if obj.tags:
        h.append(("x-amz-tagging-count", str(len(obj.tags))))
    if obj.parts:
        h.append(("x-amz-mp-parts-count", str(len(obj.parts))))
    if locks.MODE_META in meta or locks.HOLD_META in meta:
        h += lock_headers(meta)
    if checksum_mode and obj.checksum:
        algo = obj.checksum["algorithm"]
        h.append((checksums.HEADER[algo], obj.checksum["value"]))
        h.append(("x-amz-checksum-type", obj.checksum.get("type", "FULL_OBJECT")))
    return h


def check_read_conditions(obj: Object, headers: dict[str, str], prefix: str = "if-") -> None:
    """GET/HEAD conditionals (RFC 7232 order, as S3 applies them). Raises 412 or 304."""
    etag = obj.etag
    mtime = int(obj.mtime)
    im = headers.get(prefix + "match")
    inm = headers.get(prefix + "none-match")
    ims = headers.get(prefix + "modified-since")
    ius = headers.get(prefix + "unmodified-since")
    copy = prefix != "if-"
    if im is not None:
        if not _etag_in(etag, im, weak=False):
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Match"})
    elif ius is not None:
        t = parse_http_date(ius)
        if t is not None and mtime > t:
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Unmodified-Since"})
    if inm is not None:
        if _etag_in(etag, inm):
            if copy:
                raise S3Error("PreconditionFailed", extra={"Condition": "x-amz-copy-source-If-None-Match"})
            raise S3Error("NotModified", headers=[("ETag", f'"{etag}"'), ("Last-Modified", http_date(obj.mtime))])
    elif ims is not None:
        t = parse_http_date(ims)
        if t is not None and mtime <= t and t <= time.time():
            if copy:
                raise S3Error("PreconditionFailed", extra={"Condition": "x-amz-copy-source-If-Modified-Since"})
            raise S3Error("NotModified", headers=[("ETag", f'"{etag}"'), ("Last-Modified", http_date(obj.mtime))])


def etag_matches(etag: str, header: str) -> bool:
    """Whether an If-Match value (a list of strong ETags, or *) names etag."""
    return _etag_in(etag, header, weak=False)


def _etag_in(etag: str, header: str, weak: bool = True) -> bool:
    """Whether an If-(None-)Match list names etag; If-Match compares strongly (RFC 7232 3.1), so W/ never matches."""
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.startswith("W/"):
            if not weak:
                continue
            item = item[2:]
        if item.strip('"') == etag:
            return True
    return False


def _unsatisfiable(value: str, size: int) -> S3Error:
    return S3Error(
        "InvalidRange",
        extra={"ActualObjectSize": str(size), "RangeRequested": value},
        headers=[("Content-Range", f"bytes */{size}")],
    )


POSITION_DIGITS = 19  # a byte position with more digits lies past the end of any object


def _is_position(s: str) -> bool:
    return s == "" or integers.is_digits(s)


def _position(digits: str) -> int:
    """A byte position in a Range header; any longer number is taken as 10**19, past every object's end."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= POSITION_DIGITS else 10**POSITION_DIGITS


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single byte range, None for no/ignored range; InvalidRange if unsatisfiable.

    As S3 does, a range that cannot be parsed (or asks for several ranges) is ignored: the whole
    object is served. A range that parses but starts past the end is 416 InvalidRange.
    """
    if not value:
        return None
    unit, _, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not _is_position(first) or not _is_position(last):
        return None
    if first == "":
        if last == "":
            return None
        n = _position(last)
        if n == 0 or size == 0:
            raise _unsatisfiable(value, size)
        return max(0, size - n), size - 1
    start = _position(first)
    end = _position(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(value, size)
    return start, min(end, size - 1)


def url_encode(value: str, enabled: bool) -> str:
    return quote(value, safe="/") if enabled else value


def part_number(raw: str) -> int:
    """A ``partNumber`` query parameter: 1 to 10000, or 400 InvalidArgument in AWS's words."""
    message = f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive"
    return integers.argument("partNumber", raw, 1, MAX_PARTS, message)


# ---------- versions ----------
def check_version_id(version_id: str) -> str:
    if not version_id:
        raise S3Error("InvalidArgument", "Version id cannot be the empty string", extra={"ArgumentName": "versionId"})
    if not versions.well_formed(version_id):
        raise S3Error(
            "InvalidArgument", "Invalid version id specified",
            extra={"ArgumentName": "versionId", "ArgumentValue": version_id},
        )  # fmt: skip
    return version_id


def requested_version(ctx: Ctx) -> str | None:
    """The ``versionId`` a request names (S3's form), or None for the current version."""
    version_id = ctx.query.get("versionId")
    return None if version_id is None else check_version_id(version_id)


def version_header(ctx: Ctx, obj: Object, bucket: Bucket | None = None) -> list[tuple[str, str]]:
    """``x-amz-version-id`` of a version just written (in buckets whose versioning was ever enabled)
    and ``x-amz-expiration`` if a lifecycle rule will expire it."""
    b = bucket or ctx.granted.get(obj.bucket) or ctx.store.get_bucket(obj.bucket)  # (granted: read by this request)
    config = b.config if b is not None else {}
    out = expiration_header(ctx, config, obj)
    if obj.version_id is not None:
        out.append(("x-amz-version-id", obj.version_id))
    elif config.get(VERSIONING) is not None:
        out.append(("x-amz-version-id", versions.NULL_ID))
    return out


# ---------- object lock ----------
LOCK_MODE = "x-amz-object-lock-mode"
LOCK_UNTIL = "x-amz-object-lock-retain-until-date"
LOCK_HOLD = "x-amz-object-lock-legal-hold"
BYPASS_GOVERNANCE = "x-amz-bypass-governance-retention"
HOLD_STATES = ("ON", "OFF")


def lock_headers(meta: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    r = locks.retention_of(meta)
    if r is not None:
        out += [(LOCK_MODE, r.mode), (LOCK_UNTIL, r.until_iso)]
    hold = meta.get(locks.HOLD_META)
    if hold is not None:
        out.append((LOCK_HOLD, hold))
    return out


def parse_timestamp(value: str) -> float | None:
    """An ISO 8601 date-time (RetainUntilDate, a lifecycle Date), as seconds since the epoch; None if it does
    not parse, or lies past year 9999 in UTC (``9999-12-31T23:00:00-05:00``), where no date can name it."""
    try:
        d = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    ts = d.timestamp()
    return ts if ts <= LAST_DATE else None


def future_retention(mode: str | None, until: str | None) -> locks.Retention:
    if mode not in locks.MODES:
        raise S3Error("InvalidArgument", "Unknown wormMode directive.", extra={"ArgumentName": LOCK_MODE})
    ts = parse_timestamp(until or "")
    if ts is None:
        raise S3Error("InvalidArgument", "The retain until date is not valid", extra={"ArgumentName": LOCK_UNTIL})
    if ts <= time.time():
        raise S3Error("InvalidArgument", "The retain until date must be in the future!")
    return locks.Retention(mode, ts)


MISSING_INTEGRITY = "Missing required header for this request: Content-MD5"
LOCKED_PUT_INTEGRITY = (
    "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
)


def has_integrity_header(h: dict[str, str]) -> bool:
    """Content-MD5, an x-amz-checksum-* header or trailer, or x-amz-sdk-checksum-algorithm."""
    return (
        "content-md5" in h
        or "x-amz-sdk-checksum-algorithm" in h
        or h.get("x-amz-trailer", "").lower().startswith("x-amz-checksum-")
        or any(k.startswith("x-amz-checksum-") for k in h)
    )


def require_integrity_header(ctx: Ctx, message: str = MISSING_INTEGRITY) -> None:
    """Operations whose body AWS refuses without an integrity check (requestChecksumRequired in S3's model)."""
    if not has_integrity_header(ctx.headers):
        raise S3Error("InvalidRequest", message)


def require_lock(ctx: Ctx, bucket: Bucket) -> None:
    if OBJECT_LOCK not in bucket.config:
        raise S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration", resource=ctx.resource)


def lock_meta_from_headers(ctx: Ctx) -> dict[str, str]:
    """The retention and legal hold a write asks for in its headers (only in a bucket with object lock)."""
    h = ctx.headers
    mode, until, hold = h.get(LOCK_MODE), h.get(LOCK_UNTIL), h.get(LOCK_HOLD)
    if mode is None and until is None and hold is None:
        return {}
    require_lock(ctx, ctx.need_bucket())
    meta: dict[str, str] = {}
    if mode is not None or until is not None:
        if mode is None or until is None:
            raise S3Error(
                "InvalidArgument",
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
            )
        meta = locks.with_retention(meta, future_retention(mode, until))
    if hold is not None:
        if hold not in HOLD_STATES:
            raise S3Error(
                "InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'", extra={"ArgumentName": LOCK_HOLD}
            )
        meta = locks.with_legal_hold(meta, hold == locks.HOLD_ON)
    return meta


def bypass_governance(ctx: Ctx, b: Bucket, key: str | None = None) -> bool:
    """The request asks to bypass GOVERNANCE retention of ``key`` (default: the request's) and may:
    s3:BypassGovernanceRetention, besides its own action (as AWS). Asked without it, the retention holds."""
    if ctx.headers.get(BYPASS_GOVERNANCE, "").strip().lower() != "true":
        return False
    return authorize.allowed(ctx, b, BYPASS_GOVERNANCE_RETENTION, key if key is not None else ctx.key)


def abort_headers(ctx: Ctx, config: dict[str, Any], key: bytes, initiated: float) -> list[tuple[str, str]]:
    """``x-amz-abort-date`` and ``x-amz-abort-rule-id`` for an upload an AbortIncompleteMultipartUpload rule will abort."""
    if LIFECYCLE not in config:
        return []
    hit = lifecycle.abort_date(lifecycle.rules_of(config), key, initiated, ctx.settings.lifecycle_day_seconds)
    if hit is None:
        return []
    return [("x-amz-abort-date", http_date(writable(hit[0]))), ("x-amz-abort-rule-id", hit[1])]


def expiration_header(ctx: Ctx, config: dict[str, Any], obj: Object) -> list[tuple[str, str]]:
    """``x-amz-expiration`` for a current object an enabled Expiration rule matches."""
    if LIFECYCLE not in config:
        return []
    hit = lifecycle.expiration(lifecycle.rules_of(config), obj, ctx.settings.lifecycle_day_seconds)
    if hit is None:
        return []
    return [("x-amz-expiration", f'expiry-date="{http_date(writable(hit[0]))}", rule-id="{hit[1]}"')]
