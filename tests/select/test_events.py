"""The event-stream framing, decoded by botocore's own parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib

from botocore.eventstream import EventStreamBuffer

from s3d.s3.select import events


def decode(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    buf = EventStreamBuffer()
    buf.add_data(data)
    return [(dict(m.headers), m.payload) for m in buf]


def test_records_event() -> None:
    [(headers, payload)] = decode(events.records(b"a,b\n"))
    assert headers == {":message-type": "event", ":event-type": "Records", ":content-type": "application/octet-stream"}
    assert payload == b"a,b\n"


def test_stats_progress_cont_end() -> None:
    msgs = decode(events.stats(10, 20, 3) + events.progress(1, 2, 0) + events.cont() + events.end())
    assert [h[":event-type"] for h, _ in msgs] == ["Stats", "Progress", "Cont", "End"]
    stats = ET.fromstring(msgs[0][1])
    assert stats.tag == "Stats"
    assert {c.tag: c.text for c in stats} == {"BytesScanned": "10", "BytesProcessed": "20", "BytesReturned": "3"}
    assert msgs[2][1] == b"" and msgs[3][1] == b""


def test_error_event() -> None:
    [(headers, payload)] = decode(events.error("CastFailed", "no"))
    assert headers == {":message-type": "error", ":error-code": "CastFailed", ":error-message": "no"}
    assert payload == b""


def test_prelude_and_message_crcs() -> None:
    msg = events.records(b"x" * 1000)
    assert int.from_bytes(msg[:4], "big") == len(msg)
    assert int.from_bytes(msg[8:12], "big") == zlib.crc32(msg[:8])
    assert int.from_bytes(msg[-4:], "big") == zlib.crc32(msg[:-4])


def test_a_long_error_message_is_cut_at_a_character() -> None:
    [(headers, _)] = decode(events.error("InvalidQuery", "é" * 40000))
    assert headers[":error-message"] == "é" * (events.MAX_HEADER_VALUE // 2)
