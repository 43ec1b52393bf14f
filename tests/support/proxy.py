"""A counting TCP proxy on loopback: what s3d asks of the remote, and how many bytes come back."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field

from tests.support.server import free_port

REQUEST_LINE = re.compile(rb"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/1\.1\r\n")


@dataclass
class CountingProxy:
    target_port: int
    port: int = 0
    bytes_down: int = 0  # remote -> s3d
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) seen going up
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CountingProxy:
        self.port = self.port or free_port()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def reset(self) -> None:
        with self._lock:
            self.bytes_down = 0
            self.requests.clear()

    def gets(self, path_part: str) -> int:
        with self._lock:
            return sum(1 for m, p in self.requests if m == "GET" and path_part in p)

    def _accept(self) -> None:
        assert self._sock is not None
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if up:
                    found = [(m.group(1).decode(), m.group(2).decode()) for m in REQUEST_LINE.finditer(data)]
                    if found:
                        with self._lock:
                            self.requests.extend(found)
                else:
                    with self._lock:
                        self.bytes_down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
