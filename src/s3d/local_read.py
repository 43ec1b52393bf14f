"""Local reads: a mount on the daemon's own machine reads an object's blob files itself (an s3d extension).

A GET or HEAD that carries ``x-s3d-local-read: 1``, comes from a loopback address and is authorized like any
other, of an object whose bytes are plain, unencrypted blob files here, is answered with the same header
naming those files in order: each one's absolute path (percent-encoded) and the length of the object's bytes
it holds. A blob file never changes once placed (a new version is a new file, the old one is unlinked), so a
reader that opened them keeps reading the version it asked for. A client that cannot open them (another
machine, another container, another user) reads over HTTP as before. docs/mount.md, docs/compatibility.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

HEADER = "x-s3d-local-read"
ASK = "1"  # the request's value
MAX_SPANS = 256  # an object in more blob files than this is read over HTTP (the header stays small)
SPAN_SEP = ","
FIELD_SEP = " "
SIZE_DIGITS = 19  # a length fits in a signed 64-bit integer


@dataclass(frozen=True, slots=True)
class LocalSpan:
    path: str  # absolute
    size: int  # > 0


def encode(spans: list[LocalSpan]) -> str:
    return SPAN_SEP.join(f"{quote(s.path, safe='/')}{FIELD_SEP}{s.size}" for s in spans)


def decode(value: str) -> tuple[LocalSpan, ...] | None:
    """The spans a header value names; None unless it is exactly what `encode` makes of 1-MAX_SPANS spans."""
    pieces = value.split(SPAN_SEP)
    if not value or len(pieces) > MAX_SPANS:
        return None
    out = []
    for piece in pieces:
        fields = piece.split(FIELD_SEP)
        if len(fields) != 2 or not fields[1].isascii() or not fields[1].isdigit() or len(fields[1]) > SIZE_DIGITS:
            return None
        path, size = _unquoted(fields[0]), int(fields[1])
        if path is None or not path.startswith("/") or "\0" in path or size <= 0:
            return None
        out.append(LocalSpan(path, size))
    return tuple(out)


def _unquoted(text: str) -> str | None:
    """The path `quote(path, safe="/")` made `text` of; None if it made no such text."""
    try:
        path = unquote(text, errors="strict")
    except UnicodeDecodeError:
        return None
    return path if text.isascii() and quote(path, safe="/") == text else None
