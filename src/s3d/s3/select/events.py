"""The event-stream framing of a SelectObjectContent response (application/vnd.amazon.eventstream).

A message: prelude (total length, headers length: 4 bytes each, big-endian; CRC32 of those 8 bytes),
headers (name length: 1 byte, name, value type 7 = string, value length: 2 bytes, value), payload,
CRC32 of everything before it.
"""

from __future__ import annotations

import struct
import zlib

from s3d.s3 import xml

STRING_TYPE = 7
PRELUDE = struct.Struct(">II")
CRC = struct.Struct(">I")
MAX_HEADER_VALUE = 0xFFFF
OCTET_STREAM = "application/octet-stream"
TEXT_XML = "text/xml"


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode()
    raw_value = value.encode()[:MAX_HEADER_VALUE].decode("utf-8", "ignore").encode()  # whole characters only
    return bytes([len(raw_name)]) + raw_name + bytes([STRING_TYPE]) + struct.pack(">H", len(raw_value)) + raw_value


def message(headers: list[tuple[str, str]], payload: bytes = b"") -> bytes:
    head = b"".join(_header(k, v) for k, v in headers)
    total = PRELUDE.size + CRC.size + len(head) + len(payload) + CRC.size
    prelude = PRELUDE.pack(total, len(head))
    start = prelude + CRC.pack(zlib.crc32(prelude)) + head + payload
    return start + CRC.pack(zlib.crc32(start))


def _event(kind: str, payload: bytes = b"", content_type: str | None = None) -> bytes:
    headers = [(":message-type", "event"), (":event-type", kind)]
    if content_type is not None:
        headers.append((":content-type", content_type))
    return message(headers, payload)


def records(payload: bytes) -> bytes:
    return _event("Records", payload, OCTET_STREAM)


def _counts(root: str, scanned: int, processed: int, returned: int) -> bytes:
    return xml.document(
        root,
        [("BytesScanned", str(scanned)), ("BytesProcessed", str(processed)), ("BytesReturned", str(returned))],
        ns=False,
    )


def stats(scanned: int, processed: int, returned: int) -> bytes:
    return _event("Stats", _counts("Stats", scanned, processed, returned), TEXT_XML)


def progress(scanned: int, processed: int, returned: int) -> bytes:
    return _event("Progress", _counts("Progress", scanned, processed, returned), TEXT_XML)


def cont() -> bytes:
    return _event("Cont")


def end() -> bytes:
    return _event("End")


def error(code: str, text: str) -> bytes:
    return message([(":message-type", "error"), (":error-code", code), (":error-message", text)])
