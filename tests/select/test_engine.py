"""The query thread and the event loop: keep-alives while a scan waits, a response that starts late."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from botocore.eventstream import EventStreamBuffer

from s3d.s3.errors import S3Error
from s3d.s3.select import engine, request, syntax
from tests.test_daemon import loaded_after_import

DATA = b"a,b\n1,x\n2,y\n"
REQUEST = request.SelectRequest(
    "SELECT s.b FROM S3Object s", request.CsvInput(header=request.USE), request.NONE, request.CsvOutput(), True, None
)


def event_types(chunks: list[bytes]) -> list[str]:
    buf = EventStreamBuffer()
    buf.add_data(b"".join(chunks))
    return [dict(m.headers)[":event-type"] for m in buf]


def test_a_waiting_scan_sends_keepalives_then_its_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine, "READY_WAIT", 0.05)
    monkeypatch.setattr(engine, "KEEPALIVE", 0.05)
    gate = threading.Event()

    def read(offset: int, length: int) -> bytes:
        gate.wait(60)  # the object's bytes arrive only once the client has seen a keep-alive
        return DATA[offset : offset + length]

    async def scenario() -> list[bytes]:
        job = engine.Job(engine.Query(REQUEST, syntax.parse(REQUEST.expression), read, len(DATA), tmp_path))
        await job.start()  # returns although the query is not ready: the response starts late
        out: list[bytes] = []
        async for chunk in job.stream():
            out.append(chunk)
            if "Cont" in event_types(out):
                gate.set()
        return out

    chunks = asyncio.run(scenario())
    kinds = event_types(chunks)
    assert kinds[0] == "Cont" and "Progress" in kinds
    assert kinds[-3:] == ["Progress", "Stats", "End"]
    buf = EventStreamBuffer()
    buf.add_data(b"".join(chunks))
    assert [m.payload for m in buf if dict(m.headers)[":event-type"] == "Records"] == [b"x\ny\n"]


def test_a_late_query_reports_its_failure_as_an_error_event(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine, "READY_WAIT", 0.05)
    gate = threading.Event()
    req = REQUEST.__class__(
        "SELECT CAST(s.b AS INT) FROM S3Object s", REQUEST.input, REQUEST.compression, REQUEST.output, False, None
    )

    def read(offset: int, length: int) -> bytes:
        gate.wait(60)
        return DATA[offset : offset + length]

    async def scenario() -> list[bytes]:
        job = engine.Job(engine.Query(req, syntax.parse(req.expression), read, len(DATA), tmp_path))
        await job.start()
        gate.set()
        return [chunk async for chunk in job.stream()]

    buf = EventStreamBuffer()
    buf.add_data(b"".join(asyncio.run(scenario())))
    errors = [dict(m.headers) for m in buf if dict(m.headers)[":message-type"] == "error"]
    assert [e[":error-code"] for e in errors] == ["CastFailed"]


def test_queries_beyond_the_limit_are_slowed_down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine, "READY_WAIT", 0.05)
    monkeypatch.setattr(engine, "RUNNING", threading.BoundedSemaphore(1))
    gate = threading.Event()

    def read(offset: int, length: int) -> bytes:
        gate.wait(60)
        return DATA[offset : offset + length]

    async def scenario() -> tuple[str, list[bytes]]:
        first = engine.Job(engine.Query(REQUEST, syntax.parse(REQUEST.expression), read, len(DATA), tmp_path))
        await first.start()
        second = engine.Job(engine.Query(REQUEST, syntax.parse(REQUEST.expression), read, len(DATA), tmp_path))
        with pytest.raises(S3Error) as e:
            await second.start()
        gate.set()
        return e.value.code, [chunk async for chunk in first.stream()]

    code, chunks = asyncio.run(scenario())
    assert code == "SlowDown"
    assert event_types(chunks)[-2:] == ["Stats", "End"]


def test_the_daemon_loads_duckdb_only_for_a_query() -> None:
    # DuckDB is ~25 MiB of RSS in every process that imports it; most daemons never run S3 Select
    assert loaded_after_import("s3d.daemon", ["duckdb"]) == {"duckdb": False}
