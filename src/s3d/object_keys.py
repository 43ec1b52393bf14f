"""What S3 takes as an object key: shared by the S3 layer, which refuses other keys, and the components
that turn names into keys (the sync directory), which must not make one S3 would refuse."""

from __future__ import annotations

import re

MAX_KEY = 1024  # bytes of UTF-8
# characters outside XML 1.0's Char production: no document (not even as &#...;) can carry them
NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def carries(value: str) -> bool:
    """Whether an XML 1.0 document can hold ``value`` as text (a key a listing could not name is refused)."""
    return NOT_XML_CHAR.search(value) is None
