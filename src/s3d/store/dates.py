"""The last date s3d can write, and what becomes of a moment that lies past it.

A configuration S3 accepts can name a moment past year 9999: an AbortIncompleteMultipartUpload or
Expiration rule of ``Days`` up to 2**31 - 1 (AWS: "a non-zero positive integer"), or a default retention
stored before its 100-year bound. No HTTP date or ISO 8601 date can write such a moment (Python's
datetime ends with 9999 too), so where one is answered it is answered as ``LAST_DATE``:

- a retention past it holds until ``LAST_DATE``: the version stays locked, never unlocked by an overflow;
- an abort or expiration past it never comes (the clock never passes ``LAST_DATE``): the scanner does not
  act, and ``x-amz-abort-date`` / ``x-amz-expiration`` name ``LAST_DATE``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

LAST_DATE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()  # 9999-12-31T23:59:59Z


def writable(ts: float) -> float:
    """``ts``, or ``LAST_DATE`` when it lies past it (math.inf included): a moment every date format can write."""
    return min(ts, LAST_DATE)


def later(start: float, seconds: float) -> float:
    """``seconds`` after ``start``; math.inf when no float holds the sum (a number of days of 400 digits)."""
    try:
        return start + seconds
    except OverflowError:
        return math.inf
