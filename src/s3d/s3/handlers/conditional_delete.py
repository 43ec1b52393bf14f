"""Conditional deletes (DeleteObject headers, DeleteObjects entries): If-Match, last-modified time, size.

As AWS documents them: a mismatch is 412 PreconditionFailed; If-Match on a key that does not
exist is 404 NoSuchKey, while the time and size conditions on a missing key delete nothing and succeed.
"""

from __future__ import annotations

from datetime import datetime

from s3d.s3 import integers
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import etag_matches, parse_http_date
from s3d.store.errors import NoSuchKey, PreconditionFailed
from s3d.store.objects import Object
from s3d.store.store import DeletePrecondition

IF_MATCH = "if-match"
IF_MATCH_TIME = "x-amz-if-match-last-modified-time"
IF_MATCH_SIZE = "x-amz-if-match-size"


def precondition(if_match: str | None, modified: float | None, size: int | None) -> DeletePrecondition | None:
    if if_match is None and modified is None and size is None:
        return None

    def check(current: Object | None) -> None:
        if current is None:
            if if_match is not None:
                raise NoSuchKey()
            return
        if if_match is not None and not etag_matches(current.etag, if_match):
            raise PreconditionFailed("If-Match")
        if modified is not None and int(current.mtime) != int(modified):
            raise PreconditionFailed(IF_MATCH_TIME)
        if size is not None and current.size != size:
            raise PreconditionFailed(IF_MATCH_SIZE)

    return check


def _size(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    return integers.argument(name, raw, 0, integers.LONG_MAX, f"{name} must be a non-negative integer")


def from_headers(headers: dict[str, str]) -> DeletePrecondition | None:
    """The precondition a DeleteObject request's headers ask for (None: delete unconditionally)."""
    raw_time = headers.get(IF_MATCH_TIME)
    modified = None
    if raw_time is not None:
        modified = parse_http_date(raw_time)
        if modified is None:
            raise S3Error(
                "InvalidArgument", f"{IF_MATCH_TIME} is not a valid HTTP date", extra={"ArgumentName": IF_MATCH_TIME}
            )
    return precondition(headers.get(IF_MATCH), modified, _size(headers.get(IF_MATCH_SIZE), IF_MATCH_SIZE))


def from_entry(etag: str | None, last_modified: str | None, size: str | None) -> DeletePrecondition | None:
    """The precondition of one DeleteObjects <Object> entry (ETag, LastModifiedTime in ISO 8601, Size)."""
    modified = None
    if last_modified is not None:
        try:
            modified = datetime.fromisoformat(last_modified.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise S3Error("MalformedXML") from None
    try:
        n = _size(size, "Size")
    except S3Error:
        raise S3Error("MalformedXML") from None
    return precondition(etag, modified, n)
