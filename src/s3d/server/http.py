"""A small HTTP/1.1 server on asyncio + httptools.

It knows nothing about S3: it parses requests, streams bodies both ways with
flow control, and hands each request to an async ``App`` callable. Requests on
one connection are served in order (pipelining is queued, not interleaved).
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate

import httptools

READ_HIGH_WATER = 1 << 20  # pause the socket when this much body is buffered
CHUNK = 1 << 20
SENDFILE_MIN = 256 * 1024  # smaller file bodies go out as one pread+write
SENDFILE_CHUNK = 8 << 20
IDLE_TIMEOUT = 60.0  # keep-alive idle time, and the most a request's headers may take to arrive
BODY_TIMEOUT = 60.0  # the longest wait for the next piece of a request body
MAX_CONNECTIONS = 2048  # open connections per worker; past it the longest idle one is closed, or the new one
_OVERLOADED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)
OVERLOADED = (  # the answer to a connection past MAX_CONNECTIONS, before anything of it is read
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nConnection: close\r\nRetry-After: 1\r\n"
    b"Content-Length: " + str(len(_OVERLOADED_BODY)).encode() + b"\r\n\r\n" + _OVERLOADED_BODY
)
SETTLE_TIMEOUT = 1.0  # after an early answer, how long to wait for the unread rest of a body
MAX_FIELD = 8 * 1024  # the request target, and each header line (name and value), at most
MAX_HEAD = 16 * 1024  # a request's whole head (request line and headers) at most
# why a connection's bytes stopped being HTTP: the S3 error code its last answer carries
HEAD_TOO_LARGE = "RequestHeaderSectionTooLarge"
NOT_HTTP = "BadRequest"

log = logging.getLogger("s3d")


class BodyError(Exception):
    """The client closed or broke the connection mid-body."""


class Body:
    """The request body as an async stream. Reading it sends 100 Continue if asked for."""

    __slots__ = ("_chunks", "_size", "_done", "_waiter", "_conn", "consumed", "received", "error")

    def __init__(self, conn: HttpConnection) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._done = False
        self._waiter: asyncio.Future[None] | None = None
        self._conn = conn
        self.consumed = 0
        self.received = 0
        self.error: str | None = None

    # -- producer side (the protocol) --
    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        self.received += len(data)
        if self._size > READ_HIGH_WATER:
            self._conn.pause_reading()
        self._wake()

    def finish(self, error: str | None = None) -> None:
        self._done = True
        if error and not self.error:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    @property
    def complete(self) -> bool:
        return self._done and not self._chunks and self.error is None

    # -- consumer side (the app) --
    async def read_chunk(self) -> bytes:
        """Next piece of the body, b"" at the end. Raises BodyError if the client broke off."""
        while not self._chunks:
            if self._done:
                if self.error:
                    raise BodyError(self.error)
                return b""
            self._conn.send_continue()
            self._conn.resume_reading()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, BODY_TIMEOUT)
            except TimeoutError:
                self.finish("timed out waiting for the request body")
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._size -= len(data)
        self.consumed += len(data)
        if self._size <= READ_HIGH_WATER // 2:
            self._conn.resume_reading()
        return data

    async def read_all(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            c = await self.read_chunk()
            if not c:
                return b"".join(parts)
            total += len(c)
            if total > limit:
                raise BodyError("body too large")
            parts.append(c)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[bytes]:
        while True:
            c = await self.read_chunk()
            if not c:
                return
            yield c


@dataclass(slots=True)
class Request:
    method: str
    path: str  # raw, still percent-encoded
    query: str  # raw query string, no '?'
    headers: dict[str, str]  # lower-case names; repeated headers joined with ","
    body: Body
    client: str = ""
    http_version: str = "1.1"
    keep_alive: bool = True
    scope: dict[str, object] = field(default_factory=dict)
    secure: bool = False  # arrived over TLS


@dataclass(slots=True)
class FileRange:
    """A response body served from a file: ``length`` bytes from ``offset``."""

    fd: int
    offset: int
    length: int
    close: bool = True


LAST_CHUNK = b"0\r\n\r\n"  # ends a chunked body
BodyT = bytes | FileRange | AsyncIterator[bytes] | list[FileRange | bytes]


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: BodyT = b""
    content_length: int | None = None  # for streamed bodies; bytes bodies compute their own
    error_code: str | None = None  # for logs and metrics: the S3 error code of an error response
    on_sent: Callable[[int, bool], None] | None = None  # called with the body bytes written and success


App = Callable[[Request], Awaitable[Response]]

REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 411: "Length Required", 412: "Precondition Failed",
    413: "Payload Too Large", 416: "Requested Range Not Satisfiable", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 507: "Insufficient Storage",
}  # fmt: skip

_date_cache: list[object] = [0, b""]


def http_date() -> bytes:
    """The Date header value, recomputed at most once a second."""
    now = int(asyncio.get_running_loop().time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(usegmt=True).encode()
    return _date_cache[1]  # type: ignore[return-value]


class HttpConnection(asyncio.Protocol):
    def __init__(
        self,
        app: App,
        on_error: Callable[[BaseException], Response],
        bad_request: Callable[[str, str], Response] | None = None,
        registry: set[HttpConnection] | None = None,
    ) -> None:
        self.app = app
        self.on_error = on_error
        self.bad_request = bad_request
        self.registry = registry
        self.idle_since: float | None = None  # set while no request is in progress (see ConnectionSet.sweep)
        self.loop = asyncio.get_event_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Request] = deque()
        self.current: Request | None = None  # being parsed
        self.worker: asyncio.Task[None] | None = None
        self.client = ""
        self.secure = False  # a TLS connection: no sendfile (it would bypass the encryption)
        self._url = b""
        self._headers: dict[str, str] = {}
        self._reading_paused = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._continue_pending = False
        self._closed = False
        self.body_sent = 0
        self._head_bytes = 0  # bytes received towards the head being parsed (all of it: also what httptools buffers)
        self._head_fields = 0  # the header lines' bytes of the head being parsed (when it comes in one piece)
        self._head_limit_hit = False
        self._stopped = False  # nothing more is parsed on this connection
        self._broken: str | None = None  # the error code to answer once the queued requests are served
        self._peer_done = False  # the client half-closed: once its requests are answered, close

    # -- asyncio.Protocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else ""
        self.secure = transport.get_extra_info("sslcontext") is not None
        self.idle_since = self.loop.time()
        if self.registry is not None:
            if len(self.registry) >= MAX_CONNECTIONS and not _make_room(self.registry):
                transport.write(OVERLOADED)  # type: ignore[attr-defined]
                transport.close()
                return
            self.registry.add(self)

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            return  # what follows a framing error cannot be told apart from garbage
        if self.current is None:  # between requests or inside a head
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # s3d speaks no other protocol: the request is answered as plain HTTP/1.1, then the connection
            # closes (what follows its head may be in the other protocol)
            self._parse_failed(None)
        except httptools.HttpParserError:
            self._parse_failed(HEAD_TOO_LARGE if self._head_limit_hit else NOT_HTTP)
        else:
            if self.current is None and self._head_bytes > MAX_HEAD:
                self._head_limit_hit = True
                self._parse_failed(HEAD_TOO_LARGE)

    def eof_received(self) -> bool | None:
        self._peer_done = True
        if self.current is not None:
            self.current.body.finish("connection closed mid-body")
        # a half-closed client may still be waiting for our answer (e.g. IncompleteBody)
        return True if self.queue else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self.registry is not None:
            self.registry.discard(self)
        for req in self.queue:
            req.body.finish("connection lost")
        if self.current is not None:
            self.current.body.finish("connection lost")
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- httptools callbacks --
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._head_fields = 0

    def _too_large(self) -> None:
        self._head_limit_hit = True
        raise ValueError("request head too large")  # httptools stops parsing and raises HttpParserError

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_FIELD:
            self._too_large()

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._head_fields += size + len(b": \r\n")
        if size > MAX_FIELD or len(self._url) + self._head_fields > MAX_HEAD:
            self._too_large()
        k = name.decode("latin-1").lower()
        v = value.decode("latin-1")
        old = self._headers.get(k)
        self._headers[k] = v if old is None else old + "," + v

    def on_headers_complete(self) -> None:
        self._head_bytes = 0
        p = self.parser
        url = self._url.decode("latin-1")
        path, _, query = url.partition("?")
        body = Body(self)
        req = Request(
            method=p.get_method().decode("latin-1"),
            path=path,
            query=query,
            headers=self._headers,
            body=body,
            client=self.client,
            http_version=p.get_http_version(),
            keep_alive=p.should_keep_alive(),
            secure=self.secure,
        )
        self.current = req
        self.queue.append(req)
        self.idle_since = None
        if len(self.queue) > 1:
            self.pause_reading()
        if self.worker is None:
            self.worker = self.loop.create_task(self._serve())

    def on_body(self, body: bytes) -> None:
        if self.current is not None:
            self.current.body.feed(body)

    def on_message_complete(self) -> None:
        if self.current is not None:
            self.current.body.finish()
            self.current = None

    # -- flow control helpers used by Body --
    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self._closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self._closed and not self._stopped:
            if len(self.queue) > 1:
                return
            self._reading_paused = False
            self.transport.resume_reading()

    def send_continue(self) -> None:
        if self._continue_pending and self.transport is not None and not self._closed:
            self._continue_pending = False
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    # -- serving --
    async def _serve(self) -> None:
        try:
            while self.queue and not self._closed:
                req = self.queue[0]
                self._continue_pending = req.headers.get("expect", "").lower() == "100-continue"
                try:
                    resp = await self.app(req)
                except Exception as e:  # noqa: BLE001 - the app's last-resort error
                    resp = self.on_error(e)
                keep = req.keep_alive and await self._settle_body(req)
                self.body_sent = 0
                ok = False
                try:
                    await self._send(req, resp, keep)
                    ok = True
                except ConnectionError as e:
                    # a client going away mid-response is normal (a cancelled download, a closed tab)
                    log.info(
                        "client %s went away during the response to %s %s: %s", req.client, req.method, req.path, e
                    )
                    keep = False
                except Exception:  # noqa: BLE001 - e.g. a file gone short: the connection is cut, the worker lives
                    log.exception("sending the response to %s %s failed", req.method, req.path)
                    keep = False
                finally:
                    if resp.on_sent is not None:
                        try:
                            resp.on_sent(self.body_sent, ok)
                        except Exception:  # noqa: BLE001 - reporting must never break serving
                            pass
                self.queue.popleft()
                if not keep:
                    self._close()
                    return
                if self._stopped and not self.queue:
                    self._answer_broken()
                    return
                if self._peer_done and not self.queue:
                    self._close()  # nothing more can come: do not hold the connection until the idle timeout
                    return
                if not self.queue:
                    self.idle_since = self.loop.time()
                self.resume_reading()
        finally:
            self.worker = None

    async def _settle_body(self, req: Request) -> bool:
        """After the app answered: can the connection carry another request?"""
        body = req.body
        if body.complete:
            return True
        if body.error or self._continue_pending:
            return False  # the client may or may not send the body: close to be safe
        # drain a small unread remainder so keep-alive survives an early error response
        try:
            while body.consumed < 8 * CHUNK:
                if not await asyncio.wait_for(body.read_chunk(), SETTLE_TIMEOUT):
                    return True
        except (TimeoutError, BodyError):
            return False
        return False

    async def _send(self, req: Request, resp: Response, keep: bool) -> None:
        t = self.transport
        if t is None or self._closed:
            _close_fds(resp.body)
            return
        body = resp.body
        head = [b"HTTP/1.1 %d %s\r\n" % (resp.status, REASONS.get(resp.status, "OK").encode())]
        if self._continue_pending and keep:
            # The client asked for 100 Continue and the body needed no reading (e.g. it was empty).
            # Some clients (botocore before 1.43.6x) then reuse the connection expecting an interim
            # answer first: give it one, so the connection stays well-formed for them.
            self._continue_pending = False
            head.insert(0, b"HTTP/1.1 100 Continue\r\n\r\n")
        for k, v in resp.headers:
            head.append(b"%s: %s\r\n" % (k.encode("latin-1"), _field_value(v)))
        head.append(b"Date: " + http_date() + b"\r\n")
        if not keep:
            head.append(b"Connection: close\r\n")
        head_only = req.method == "HEAD" or resp.status in (204, 304)
        if isinstance(body, bytes):
            length = resp.content_length if head_only and resp.content_length is not None else len(body)
            if resp.status != 204:
                head.append(b"Content-Length: %d\r\n\r\n" % length)
            else:
                head.append(b"\r\n")
            if not head_only and body:
                head.append(body)
                self.body_sent = len(body)
            t.write(b"".join(head))
            return
        # a stream of unknown length (content_length None) goes out in chunks
        chunked = resp.content_length is None and not isinstance(body, FileRange | list)
        if chunked:
            head.append(b"Transfer-Encoding: chunked\r\n\r\n")
        elif resp.content_length is None:
            raise ValueError("file bodies need content_length")
        else:
            head.append(b"Content-Length: %d\r\n\r\n" % resp.content_length)
        t.write(b"".join(head))
        if head_only:
            _close_fds(body)
            return
        try:
            if isinstance(body, FileRange):
                await self._send_file(body)
            elif isinstance(body, list):
                for piece in body:
                    if isinstance(piece, bytes):
                        await self._write(piece)
                    else:
                        await self._send_file(piece)
            elif chunked:
                async for chunk in body:
                    if chunk:
                        await self._write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await self._write(LAST_CHUNK)
            else:
                async for chunk in body:
                    await self._write(chunk)
        except Exception:
            # headers are out: the only honest signal left is to cut the connection
            self._abort()
            raise
        finally:
            _close_fds(body)

    async def _write(self, data: bytes) -> None:
        if self._closed:
            raise ConnectionError("client went away")
        if not self._writable.is_set():
            await self._writable.wait()
            if self._closed:
                raise ConnectionError("client went away")
        assert self.transport is not None
        self.transport.write(data)
        self.body_sent += len(data)

    async def _send_file(self, fr: FileRange) -> None:
        off, left = fr.offset, fr.length
        if left >= SENDFILE_MIN and self._socket_fd() is not None:
            sent = await self._sendfile(fr.fd, off, left)
            off, left = off + sent, left - sent
        while left > 0:
            n = min(CHUNK, left)
            data = os.pread(fr.fd, n, off)
            if not data:
                raise OSError("file shorter than expected")
            await self._write(data)
            off += len(data)
            left -= len(data)

    def _socket_fd(self) -> int | None:
        """The socket's fd, when nothing is queued in the transport (so direct writes keep the order)."""
        t = self.transport
        if t is None or self._closed or self.secure or t.get_write_buffer_size() != 0:
            return None
        sock = t.get_extra_info("socket")
        return sock.fileno() if sock is not None else None

    async def _sendfile(self, fd: int, off: int, count: int) -> int:
        """Zero-copy file -> socket (uvloop has no loop.sendfile). Returns the bytes sent.

        The socket is non-blocking: when it is full we wait for it to drain with poll() in a
        worker thread (a second poller does not disturb the event loop's own registration).
        """
        loop = asyncio.get_running_loop()
        sent = 0
        while sent < count:
            sock_fd = self._socket_fd()
            if sock_fd is None:
                break
            try:
                n = os.sendfile(sock_fd, fd, off + sent, min(count - sent, SENDFILE_CHUNK))
            except BlockingIOError:
                if not await loop.run_in_executor(None, _wait_writable, sock_fd, BODY_TIMEOUT):
                    raise ConnectionError("client stopped reading") from None
                continue
            except (BrokenPipeError, ConnectionResetError) as e:
                raise ConnectionError("client went away") from e
            if n == 0:
                raise OSError("file shorter than expected")
            sent += n
            self.body_sent += n
        return sent

    def _parse_failed(self, code: str | None) -> None:
        """The bytes stopped being HTTP: answer the requests already parsed, then ``code`` (if any), then close."""
        self._broken = code
        self._stopped = True
        self.pause_reading()
        if self.current is not None:  # mid-body (e.g. a bad chunk size): that request fails as cut short
            self.current.body.finish("malformed request body")
            self.current = None
        if not self.queue:
            self._answer_broken()

    def _answer_broken(self) -> None:
        code = self._broken
        if code is not None and self.transport is not None and not self._closed:
            if self.bad_request is not None:
                resp = self.bad_request(code, self.client)
                head = b"".join(b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers)
                body = resp.body if isinstance(resp.body, bytes) else b""
                self.transport.write(
                    b"HTTP/1.1 %d %s\r\n" % (resp.status, REASONS.get(resp.status, "Bad Request").encode())
                    + head
                    + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                    + body
                )
            else:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self._close()

    def _close(self) -> None:
        if self.transport is not None and not self._closed:
            self.transport.close()

    def _abort(self) -> None:
        if self.transport is not None and not self._closed:
            self._closed = True
            self.transport.abort()


def _make_room(registry: set[HttpConnection]) -> bool:
    """Close the connection idle the longest (between requests, or while its head trickles in); False if none is."""
    idle = [c for c in registry if c.idle_since is not None]
    if not idle:
        return False
    oldest = min(idle, key=lambda c: c.idle_since or 0.0)
    registry.discard(oldest)
    oldest._close()
    return True


def _field_value(v: str) -> bytes:
    """A response header value on the wire. The app sends only valid values; should one slip through, it
    is made safe here (never a CR or LF that would split the response, never an exception mid-head)."""
    try:
        raw = v.encode("latin-1")
    except UnicodeEncodeError:
        raw = v.encode("latin-1", "replace")
    if b"\r" in raw or b"\n" in raw:
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
    return raw


def _wait_writable(fd: int, timeout: float) -> bool:
    p = select.poll()
    p.register(fd, select.POLLOUT | select.POLLERR | select.POLLHUP)
    events = p.poll(timeout * 1000)
    return any(ev & select.POLLOUT for _, ev in events)


def _close_fds(body: BodyT) -> None:
    items = body if isinstance(body, list) else [body]
    for b in items:
        if isinstance(b, FileRange) and b.close:
            try:
                os.close(b.fd)
            except OSError:
                pass
            b.close = False


class ConnectionSet:
    """The open connections of one server: makes them, closes idle ones, tells when all are quiet."""

    def __init__(
        self, app: App, on_error: Callable[[BaseException], Response], bad_request: Callable[[str, str], Response]
    ) -> None:
        self.app, self.on_error, self.bad_request = app, on_error, bad_request
        self.open: set[HttpConnection] = set()

    def __call__(self) -> HttpConnection:
        return HttpConnection(self.app, self.on_error, self.bad_request, self.open)

    async def sweep(self, every: float = 5.0) -> None:
        """Close connections idle (between requests, or while headers trickle in) for IDLE_TIMEOUT."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            for c in list(self.open):
                if c.idle_since is not None and now - c.idle_since > IDLE_TIMEOUT:
                    c._close()

    def busy(self) -> bool:
        return any(c.worker is not None for c in self.open)
