"""The download clients' ceiling: a minimal uvloop + httptools server that answers HEAD and (ranged) GET of one
file with sendfile, and nothing else: no auth, no metadata store, no hashing. What a client downloads from it is
as fast as that client can download on this machine; s3d's download figures are read against it.

Same process model as bench.hello: one socket, one forked worker per core (or --workers N).
Usage: python -m bench.static --port PORT --file PATH [--workers N]  (every path serves the file)
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import os
import re
import signal
import socket

import httptools

from bench.hello import forked

RANGE = re.compile(rb"bytes=(\d+)-(\d*)$")


class Static(asyncio.Protocol):
    def __init__(self, path: str, etag: str, mtime: str) -> None:
        self.path = path
        self.etag = etag
        self.mtime = mtime
        self.size = os.path.getsize(path)
        self.range: bytes | None = None
        self.busy: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self) -> None:
        self.range = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"range":
            self.range = value

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        start, end, status = 0, self.size, b"200 OK"
        m = RANGE.match(self.range or b"")
        if m:
            start = int(m[1])
            end = min(self.size, int(m[2]) + 1) if m[2] else self.size
            status = b"206 Partial Content"
        head = [
            b"HTTP/1.1 " + status,
            b"Content-Length: " + str(end - start).encode(),
            b"Content-Type: application/octet-stream",
            b"ETag: " + self.etag.encode(),
            b"Last-Modified: " + self.mtime.encode(),
            b"Accept-Ranges: bytes",
        ]
        if m:
            head.append(f"Content-Range: bytes {start}-{end - 1}/{self.size}".encode())
        header = b"\r\n".join(head) + b"\r\n\r\n"
        if method != b"GET" or end == start:
            self.transport.write(header)
            return
        self.transport.pause_reading()
        self.busy = asyncio.get_running_loop().create_task(self.send(header, start, end - start))

    async def send(self, header: bytes, offset: int, count: int) -> None:
        """Header and sendfile from a thread (uvloop has no loop.sendfile): the socket blocks there, not the loop."""
        sock = socket.socket(fileno=os.dup(self.transport.get_extra_info("socket").fileno()))
        sock.setblocking(True)

        def run() -> None:
            sock.sendall(header)
            with open(self.path, "rb") as f:
                sock.sendfile(f, offset, count)

        try:
            await asyncio.get_running_loop().run_in_executor(None, run)
        except OSError:
            self.transport.close()
        finally:
            sock.close()
        if not self.transport.is_closing():
            self.transport.resume_reading()


async def serve(sock: socket.socket, path: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    st = os.stat(path)
    etag = f'"{st.st_ino:x}-{st.st_size:x}"'
    mtime = email.utils.formatdate(st.st_mtime, usegmt=True)
    server = await loop.create_server(lambda: Static(path, etag, mtime), sock=sock, backlog=2048)
    await stop.wait()
    server.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    forked(a.port, a.workers, lambda sock: serve(sock, a.file))


if __name__ == "__main__":
    main()
