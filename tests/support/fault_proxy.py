"""An HTTP proxy in front of a real remote that answers chosen requests with an error of its own.

Everything else passes through unchanged (headers included, so signatures still verify). Rules are
(method or None, a substring of the path, HTTP status, S3 error code); ``refused`` counts what it
answered itself. A ``Phantom`` adds an entry for a key the remote does not hold to the bucket's listings
(what a listing that lags behind a delete, or a remote with a stale directory cache, shows).
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.server import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass
class Rule:
    path_part: str
    status: int
    code: str
    method: str | None = None


@dataclass
class Phantom:
    bucket: str
    key: str
    etag: str  # without quotes
    size: int = 1

    def entry(self) -> bytes:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return (f"<Contents><Key>{self.key}</Key><LastModified>{now}</LastModified><ETag>&quot;{self.etag}&quot;"
                f"</ETag><Size>{self.size}</Size><StorageClass>STANDARD</StorageClass></Contents>").encode()  # fmt: skip

    def add_to(self, method: str, path: str, body: bytes) -> bytes:
        """``body`` with this entry, if it is a listing of the bucket (a GET of the bucket itself)."""
        bucket, _, query = path.lstrip("/").partition("?")
        if method != "GET" or bucket != self.bucket or "list-type=2" not in query:
            return body
        body = body.replace(b"<KeyCount>0</KeyCount>", b"<KeyCount>1</KeyCount>")
        return body.replace(b"</ListBucketResult>", self.entry() + b"</ListBucketResult>")


@dataclass
class FaultProxy:
    target_port: int
    rules: list[Rule] = field(default_factory=list)
    phantoms: list[Phantom] = field(default_factory=list)
    port: int = 0
    refused: int = 0
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rule_for(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for r in self.rules:
                if (r.method is None or r.method == method) and r.path_part in path:
                    self.refused += 1
                    return r
        return None

    def set_rules(self, *rules: Rule) -> None:
        with self.lock:
            self.rules = list(rules)

    def start(self) -> FaultProxy:
        self.port = self.port or free_port()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _relay(self) -> None:
                try:
                    self._forward()
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    self.close_connection = True  # the client gave up on this request (its read timeout)

            def _forward(self) -> None:
                body = self._body()
                rule = proxy.rule_for(self.command, self.path)
                if rule is not None:
                    err = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{rule.code}</Code>'
                           f"<Message>injected by the test proxy</Message></Error>").encode()  # fmt: skip
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(err)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                for phantom in proxy.phantoms:
                    data = phantom.add_to(self.command, self.path, data)
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header(
                    "Content-Length",
                    str(len(data) if self.command != "HEAD" else resp.getheader("Content-Length") or 0),
                )
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
