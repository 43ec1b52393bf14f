"""One query: DuckDB in a worker thread, its results handed to the event loop as event-stream messages.

The thread opens its own DuckDB connection (one thread, a memory limit, no extension loading, no
file but the object's and the result's), registers the object as a filesystem (``source``), creates
the base view (``inputs``), asks DuckDB for the records' shape, renders the query (``translate``)
and has DuckDB write the records (``COPY ... TO`` the ``sink``, options from ``outputs``): Records
events of about ``RECORDS_BYTES`` go into a bounded queue, so a slow client slows the scan instead
of filling memory. Errors before the first records are the request's S3 error (an HTTP status);
errors after them are an error event.
"""

from __future__ import annotations

import asyncio
import atexit
import bz2
import concurrent.futures
import importlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s3d.s3.errors import S3Error
from s3d.s3.select import events, inputs, outputs, translate
from s3d.s3.select import request as rq
from s3d.s3.select import tree as t
from s3d.s3.select.sink import PROTOCOL as SINK_PROTOCOL
from s3d.s3.select.sink import URL as SINK_URL
from s3d.s3.select.sink import SinkFileSystem
from s3d.s3.select.source import BLOCK, PROTOCOL, Counter, Piece, RangeReader, View, ViewFileSystem, scan_window
from s3d.s3.store_errors import to_s3
from s3d.store.errors import ObjectChanged, StoreError

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("s3d.select")


def _duckdb() -> Any:
    """DuckDB, imported by the first query: it adds about 25 MiB to every process that loads it."""
    return importlib.import_module("duckdb")


def _is_duckdb_error(e: Exception) -> bool:
    loaded = sys.modules.get("duckdb")  # not loaded: no query ran, so this is not one of its errors
    return loaded is not None and isinstance(e, loaded.Error)


RECORDS_BYTES = 256 * 1024  # one Records event holds about this much
QUEUE_MESSAGES = 8  # messages waiting for the client, at most
READY_WAIT = 5.0  # seconds a query may prepare before the response starts anyway
KEEPALIVE = 1.0  # seconds without a message before a Cont event (and Progress, if asked for)
PUT_WAIT = 1.0  # seconds between checks for a cancelled query while the queue is full
MEMORY_LIMIT = "256MB"  # one query's DuckDB memory
MAX_QUERIES = 4  # queries running at once in one worker process (so at most 4 x MEMORY_LIMIT); more: SlowDown
RUNNING = threading.BoundedSemaphore(MAX_QUERIES)
STOP_WAIT = 5.0  # seconds a stopping process waits for each interrupted query
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "threads": 1,
    "memory_limit": MEMORY_LIMIT,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}
TIME_ZONE = "SET TimeZone = 'UTC'"  # timestamps are UTC, as S3 Select's are
# the query sees the object and nothing else of the machine (the SQL is rendered from a syntax tree
# anyway: this is the second wall), and cannot change that
CONFINE = (
    f"SET allowed_directories = ['{PROTOCOL}://', '{SINK_PROTOCOL}://']",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)
# DuckDB's errors (by the kind that starts their message), as S3 Select's error codes; input parsing errors
# are the format's. A failure while rows stream is reported as a failed pending result, with the original
# error on a later line ("Error: Conversion Error: ...").
PARSING_ERROR = {
    rq.CsvInput: "CSVParsingError",
    rq.JsonInput: "JSONParsingError",
    rq.ParquetInput: "ParquetParsingError",
}
INPUT_KIND = "Invalid Input Error"
IO_KIND = "IO Error"
ERROR_KINDS = {
    "Conversion Error": "CastFailed",
    "Out of Range Error": "IntegerOverflow",
    "Binder Error": "InvalidDataType",
    "Out of Memory Error": "OverMaxRecordSize",
}
INNER_ERROR = "Error: "
FALLBACK_CODE = "InvalidQuery"  # any other DuckDB error: the query cannot run on this object


class _Done:
    """The end of the stream: the counts for Stats."""

    def __init__(self, scanned: int, processed: int, returned: int) -> None:
        self.scanned, self.processed, self.returned = scanned, processed, returned


class _Failed:
    def __init__(self, error: S3Error) -> None:
        self.error = error


Item = bytes | _Done | _Failed


def _consume(fut: asyncio.Future[None]) -> None:
    """A late query's failure is reported as an event; its future's exception is read here, once."""
    if not fut.cancelled():
        fut.exception()


LIVE: set[Job] = set()  # queries whose thread is running


@atexit.register
def _stop_queries() -> None:
    """A process that exits interrupts its queries and waits for their threads: a thread still inside
    DuckDB while the interpreter finalizes would abort the process."""
    jobs = list(LIVE)
    for job in jobs:
        job.cancel()
    for job in jobs:
        job.thread.join(STOP_WAIT)


class Cancelled(Exception):
    """The client went away: the thread stops."""


def _duckdb_error(text: str, req: rq.SelectRequest) -> S3Error:
    lines = text.splitlines() or [text]
    inner = [line[len(INNER_ERROR) :] for line in lines[1:] if line.startswith(INNER_ERROR)]
    first = inner[0] if inner else lines[0]
    kind = first.partition(":")[0]
    if kind == INPUT_KIND:
        return S3Error(PARSING_ERROR[type(req.input)], first)
    if kind == IO_KIND and req.compression == rq.GZIP:  # reading the object itself failed otherwise (read_error)
        return S3Error("InvalidCompressionFormat", first)
    return S3Error(ERROR_KINDS.get(kind, FALLBACK_CODE), first, status=400)


def s3_error(e: Exception, req: rq.SelectRequest) -> S3Error:
    if isinstance(e, S3Error):
        return e
    if _is_duckdb_error(e):
        return _duckdb_error(str(e), req)
    if isinstance(e, UnicodeDecodeError | EOFError | OSError):
        return S3Error(PARSING_ERROR[type(req.input)], str(e) or type(e).__name__)
    log.exception("select query failed")
    return S3Error("InternalError")


def read_failure(e: Exception) -> S3Error:
    """The object could not be read: the store's own error, or the object replaced while it was read."""
    if isinstance(e, S3Error):
        return e
    if isinstance(e, StoreError) and not isinstance(e, ObjectChanged):
        return to_s3(e)
    if isinstance(e, FileNotFoundError | ObjectChanged):
        return S3Error("ServiceUnavailable", "The object was replaced while it was being read: retry the query.")
    log.error("select: reading the object failed: %r", e)
    return S3Error("InternalError", "The object could not be read.")


def shape_of(kind: Any) -> translate.Shape:
    """A DuckDB type (DuckDBPyType) as far as paths need it."""
    kind_id = getattr(kind, "id", "")
    if kind_id == "struct":
        return translate.Shape(translate.STRUCT, tuple((n, shape_of(c)) for n, c in kind.children))
    if kind_id == "list":
        return translate.Shape(translate.LIST, element=shape_of(kind.children[0][1]))
    return translate.ANY


@dataclass
class Query:
    """What the handler hands over: the request, its parsed SQL and the object's bytes."""

    req: rq.SelectRequest
    sql: t.Query
    read: RangeReader
    size: int
    spool_dir: Path


class Job:
    def __init__(self, query: Query) -> None:
        self.q = query
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_MESSAGES)
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.cancelled = threading.Event()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.counter = Counter()
        self.thread = threading.Thread(target=self._run, name="s3d-select", daemon=True)
        self.processed = 0
        self.view_size = 0  # bytes DuckDB reads: the object, its ScanRange window or its decompressed spool
        self.signalled = False  # the thread's own record of having settled ``ready``
        self.pending: list[bytes] = []  # records written by DuckDB, not yet sent
        self.pending_bytes = 0
        self.returned = 0
        self.json_delimiter: bytes | None = None
        self.read_error: Exception | None = None  # a failure reading the object, as it was (not DuckDB's wrapping)

    # ---------- the event loop's side ----------
    async def start(self) -> None:
        """Runs the query up to its first rows (READY_WAIT seconds at most); the request's S3Error if it
        cannot run. A query still preparing then (a large BZIP2 object) answers 200 and reports any
        failure as an error event."""
        self.slots = RUNNING  # released by the thread, into the pool it came from
        if not self.slots.acquire(blocking=False):
            raise S3Error("SlowDown", "Too many S3 Select queries are running here: retry.", status=503)
        LIVE.add(self)
        self.thread.start()
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), READY_WAIT)
        except TimeoutError:
            self.ready.add_done_callback(_consume)
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        self.cancelled.set()
        con = self.con
        if con is not None:
            try:
                con.interrupt()
            except Exception as e:  # noqa: BLE001 - DuckDB's own errors only: anything else is raised again
                if not _is_duckdb_error(e):
                    raise

    async def stream(self) -> AsyncIterator[bytes]:
        try:
            while True:
                try:
                    item = await asyncio.wait_for(self.queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield events.cont()
                    if self.q.req.progress:
                        yield events.progress(self._scanned(), self._processed(), 0)
                    continue
                if isinstance(item, bytes):
                    yield item
                elif isinstance(item, _Failed):
                    yield events.error(item.error.code, item.error.message)
                    return
                else:
                    if self.q.req.progress:
                        yield events.progress(item.scanned, item.processed, item.returned)
                    yield events.stats(item.scanned, item.processed, item.returned)
                    yield events.end()
                    return
        finally:
            self.cancel()

    def _scanned(self) -> int:
        """Bytes of the object read; a part DuckDB read twice (sniffing, then scanning) counts once."""
        return min(self.counter.value, self.view_size) if self.view_size else self.counter.value

    def _processed(self) -> int:
        return self.processed or self._scanned()

    # ---------- the thread's side ----------
    def _put(self, item: Item) -> None:
        put = self.queue.put(item)
        try:
            fut = asyncio.run_coroutine_threadsafe(put, self.loop)
        except RuntimeError:  # the event loop is closed: the process is stopping
            put.close()
            raise Cancelled from None
        while True:
            try:
                fut.result(PUT_WAIT)
                return
            except concurrent.futures.TimeoutError:
                if self.cancelled.is_set():
                    fut.cancel()
                    raise Cancelled from None

    def _signal(self, error: BaseException | None) -> None:
        self.signalled = True

        def settle() -> None:
            if self.ready.done():
                return
            if error is None:
                self.ready.set_result(None)
            else:
                self.ready.set_exception(error)

        try:
            self.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the event loop is closed: the process is stopping
            pass

    def _run(self) -> None:
        spool = None
        try:
            view, spool = self._view()
            self.view_size = self.q.size if self.q.req.compression == rq.BZIP2 else view.size
            with _duckdb().connect(config=DUCKDB_CONFIG) as con:
                self.con = con
                if self.cancelled.is_set():
                    raise Cancelled
                self._run_query(con, self._prepare(con, view))
        except Cancelled:
            self._signal(S3Error("InternalError", "cancelled"))
        except Exception as e:  # noqa: BLE001 - every failure is reported to the client
            err = read_failure(self.read_error) if self.read_error is not None else s3_error(e, self.q.req)
            if not self.signalled:
                self._signal(err)
            try:  # read by the stream if the response has started (or starts late); else dropped with the job
                self._put(_Failed(err))
            except Cancelled:
                pass
        finally:
            self.con = None
            if spool is not None:
                spool.close()
            LIVE.discard(self)
            self.slots.release()

    def _read(self, offset: int, length: int) -> bytes:
        try:
            return self.q.read(offset, length)
        except Exception as e:
            self.read_error = e
            raise

    def _view(self) -> tuple[View, Any]:
        """The bytes DuckDB reads: the object, its ScanRange window, or its BZIP2-decompressed spool."""
        req, read, size = self.q.req, self._read, self.q.size
        if req.compression == rq.BZIP2:
            spool = tempfile.TemporaryFile(dir=self.q.spool_dir)
            self.processed = self._decompress(spool.fileno())
            fd = spool.fileno()
            return View(lambda off, n: os.pread(fd, n, off), [Piece(0, self.processed)], Counter()), spool
        pieces = [Piece(0, size)]
        scan = req.scan_range
        if scan is not None:
            inp = req.input
            delimiter = (inp.record_delimiter if isinstance(inp, rq.CsvInput) else "\n")[-1:].encode()
            first, stop = scan_window(read, size, scan.start, scan.end, delimiter)
            pieces = [Piece(first, stop - first)]
            if first > 0 and isinstance(inp, rq.CsvInput) and inp.header != rq.NONE:
                header_end = scan_window(read, size, 0, 0, delimiter)[1]
                pieces.insert(0, Piece(0, min(header_end, first)))
        return View(read, pieces, self.counter), None

    def _decompress(self, fd: int) -> int:
        d = bz2.BZ2Decompressor()
        offset = written = 0
        while offset < self.q.size:
            if self.cancelled.is_set():
                raise Cancelled
            chunk = self._read(offset, BLOCK)
            if not chunk:
                break
            offset += len(chunk)
            self.counter.add(len(chunk))
            while chunk:
                try:
                    data = d.decompress(chunk)
                except OSError as e:
                    raise S3Error("InvalidCompressionFormat", f"The object is not BZIP2 data: {e}.") from None
                os.write(fd, data)
                written += len(data)
                if d.eof:  # several bzip2 streams in one file: each is a stream of the same data
                    chunk, d = d.unused_data, bz2.BZ2Decompressor()
                else:
                    chunk = b""
        return written

    def _prepare(self, con: duckdb.DuckDBPyConnection, view: View) -> str:
        """The connection confined to the object and the result, the base view made, the query rendered."""
        con.execute(TIME_ZONE)
        for statement in CONFINE:
            con.execute(statement)
        con.register_filesystem(ViewFileSystem(view))
        con.register_filesystem(SinkFileSystem(self._write))
        con.execute(inputs.base_view(self.q.req, view.size))
        base = con.sql(f"SELECT * FROM {translate.BASE}")
        by_value = isinstance(self.q.req.input, rq.JsonInput)
        columns = tuple((name, shape_of(kind)) for name, kind in zip(base.columns, base.types, strict=True))
        records = translate.Records(columns, isinstance(self.q.req.input, rq.CsvInput), by_value)
        return translate.render(self.q.sql, records, self._star_names(base.columns))

    def _star_names(self, columns: list[str]) -> list[str]:
        inp = self.q.req.input
        if isinstance(inp, rq.CsvInput) and inp.header != rq.USE:
            return [f"{translate.POSITIONAL}{i}" for i in range(1, len(columns) + 1)]
        return list(columns)

    def _run_query(self, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        """DuckDB writes the records (sink.py -> _write); the first write starts the response."""
        self.json_delimiter = outputs.json_delimiter(self.q.req.output)
        con.execute(f"COPY ({sql}) TO {translate.quote_string(SINK_URL)} ({outputs.copy_options(self.q.req.output)})")
        self._flush()
        self._signal(None)  # no records at all
        self._put(_Done(self._scanned(), self._processed(), self.returned))

    def _write(self, chunk: bytes) -> None:
        if self.cancelled.is_set():
            raise Cancelled
        if self.json_delimiter is not None:
            chunk = chunk.replace(outputs.JSON_LINE_END, self.json_delimiter)
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes >= RECORDS_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        payload = b"".join(self.pending)
        self.pending, self.pending_bytes = [], 0
        self.returned += len(payload)
        if not self.signalled:
            self._signal(None)
        self._put(events.records(payload))
