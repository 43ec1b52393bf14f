"""The Python ceiling: a minimal uvloop + httptools server answering every request with a 4 KiB body.

Same process model as s3d: one socket, one forked worker per core (or --workers N).
Usage: python -m bench.hello --port PORT [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import httptools
import uvloop

BODY = b"h" * 4096
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class Hello(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await loop.create_server(Hello, sock=sock, backlog=2048)
    await stop.wait()
    server.close()


def forked(port: int, workers: int, serve_on: Callable[[socket.socket], Coroutine[Any, Any, None]]) -> None:
    """Listen on 127.0.0.1:port, fork `workers` processes each running serve_on(sock), wait for them (SIGTERM is
    passed on)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            uvloop.run(serve_on(sock))
            os._exit(0)
        children.append(pid)
    sock.close()

    def forward(signum: int, _frame: object) -> None:
        for p in children:
            os.kill(p, signum)

    signal.signal(signal.SIGTERM, forward)
    for p in children:
        os.waitpid(p, 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    forked(a.port, a.workers, serve)


if __name__ == "__main__":
    main()
