"""Byte ranges of an object, mapped onto where its bytes are (inline, one blob, or its parts).

The one place that walks an object's parts: GET, ranged GET, CopyObject and UploadPartCopy all read
through ``spans``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NamedTuple

from s3d.store.objects import Object


class BlobSpan(NamedTuple):
    blob: str
    offset: int
    length: int


class OpenSpan(NamedTuple):
    """An open file descriptor (the reader closes it) and the span of it to read."""

    fd: int
    offset: int
    length: int


def spans(obj: Object, start: int, end: int) -> list[BlobSpan | bytes]:
    """The pieces holding bytes [start, end] (inclusive) of an object with local bytes."""
    if end < start:
        return []
    if obj.data is not None:
        return [obj.data[start : end + 1]]
    if obj.blob is not None:
        return [BlobSpan(obj.blob, start, end - start + 1)]
    out: list[BlobSpan | bytes] = []
    offset = 0
    for p in obj.parts or []:
        p_start, p_end = offset, offset + p.size - 1
        offset += p.size
        if p_end < start or p_start > end or p.size == 0:
            continue
        lo = max(start, p_start) - p_start
        hi = min(end, p_end) - p_start
        out.append(BlobSpan(p.blob, lo, hi - lo + 1))
    return out


# What a read hands the layer above: opened local spans, bytes, or a stream (remote bytes in gateway mode).
Body = list[OpenSpan | bytes] | bytes | AsyncIterator[bytes]
