"""What S3 takes as an object key: shared by the S3 layer, which refuses other keys, and the components
that turn file names into keys (the sync directory, the mount), which must not make one S3 would refuse."""

from __future__ import annotations

import re

MAX_KEY = 1024  # bytes of UTF-8
# characters outside XML 1.0's Char production: no document (not even as &#...;) can carry them
NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def carries(value: str) -> bool:
    """Whether an XML 1.0 document can hold ``value`` as text (a key a listing could not name is refused)."""
    return NOT_XML_CHAR.search(value) is None


def is_utf8(name: str) -> bool:
    """Whether a name from the OS is valid UTF-8, as S3 keys are (its other bytes come as surrogate escapes)."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True
