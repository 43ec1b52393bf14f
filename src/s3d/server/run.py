"""Processes and sockets: one worker process per core accepting on a shared socket (HTTP, HTTPS or both).

What the workers serve and what gateway mode's main process runs are built in s3d/daemon.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from s3d.config import Settings
from s3d.server import lifeline, tls
from s3d.server.http import ConnectionSet, Request, Response

log = logging.getLogger("s3d")
DRAIN_SECONDS = 10.0
_https: tls.Listener | None = None  # set by run() before the workers fork
_children: list[int] = []  # this process's worker processes (SIGHUP is passed on to them)


def bind(settings: Settings, address: str | None = None) -> socket.socket:
    host, port = settings.host_port if address is None else tls.split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _install_loop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


class App(Protocol):
    """What a worker serves: the S3 application (s3/app.py), built by s3d/daemon.py."""

    async def __call__(self, req: Request) -> Response: ...
    def on_error(self, exc: BaseException) -> Response: ...
    def bad_request(self, code: str, client: str) -> Response: ...


# Builds a worker's application in the worker process (after the fork); returns it and its closer.
OpenApp = Callable[[], tuple[App, Callable[[], None]]]
# Gateway mode's main process: runs beside the workers (their pids) and returns the exit status.
Supervise = Callable[[list[int]], int]
# Local mode: a task the main process runs beside serving (cancelled when it stops).
Background = Callable[[], Coroutine[Any, Any, None]]


async def serve(open_app: OpenApp, sock: socket.socket, background: Background | None = None) -> None:
    app, close = open_app()
    task = asyncio.create_task(background()) if background is not None else None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connections = ConnectionSet(app, app.on_error, app.bad_request)
    ctx = tls.context(_https.files) if _https is not None else None
    if ctx is not None and _https is not None:
        loop.add_signal_handler(signal.SIGHUP, _reload, ctx, _https.files)
    own_tls = ctx if _https is not None and _https.sock is None else None
    server = await loop.create_server(connections, sock=sock, backlog=2048, ssl=own_tls)
    second = None
    if _https is not None and _https.sock is not None:
        second = await loop.create_server(connections, sock=_https.sock, backlog=2048, ssl=ctx)
    sweeper = asyncio.create_task(connections.sweep())
    await stop.wait()
    server.close()
    if second is not None:
        second.close()
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and connections.busy():
        await asyncio.sleep(0.05)
    sweeper.cancel()
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    close()


def _reload(ctx: ssl.SSLContext, files: tls.Files) -> None:
    """SIGHUP: load the certificate again (open connections keep theirs) and pass the signal on to the workers."""
    tls.reload(ctx, files)
    _reload_children()


def _reload_children() -> None:
    for pid in _children:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass


def _worker(open_app: OpenApp, sock: socket.socket, background: Background | None = None) -> None:
    _install_loop()
    asyncio.run(serve(open_app, sock, background))


def run(
    settings: Settings, open_app: OpenApp, supervise: Supervise | None, background: Background | None = None
) -> int:
    """Serve until SIGTERM/SIGINT. Without ``supervise`` (local mode) this process is also a worker,
    and runs ``background`` beside serving (only here: never in the forked workers).

    The caller holds the data dir's lock and has recovered it (s3d/daemon.py).
    """
    global _https
    _https = tls.listener(settings, bind(settings, settings.listen_tls) if settings.listen_tls else None)
    sock = bind(settings)
    host, port = sock.getsockname()[:2]
    scheme = "https" if _https is not None and _https.sock is None else "http"
    print(f"s3d listening on {scheme}://{host}:{port} (data: {settings.data}, workers: {settings.workers})", flush=True)
    if _https is not None:
        tls.announce(_https)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until each worker's loop takes it over (a reload)
    if supervise is None and settings.workers <= 1:
        _worker(open_app, sock, background)
        return 0
    children: list[int] = []
    # Local mode: this process is one of the workers (one process fewer, ~45 MB less).
    # Gateway mode: it runs the shipper and supervises the workers instead.
    forks = settings.workers if supervise is not None else settings.workers - 1
    line = lifeline.make()
    for _ in range(forks):
        pid = os.fork()
        if pid == 0:
            _children.clear()
            code = 0
            try:
                lifeline.bind_worker(line)  # a worker never outlives this process
                _worker(open_app, sock)
            except BaseException:  # noqa: BLE001 - a worker must never return into the parent's code
                log.exception("worker failed")
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
        _children.append(pid)
    lifeline.parent_keeps(line)
    if supervise is not None:
        sock.close()
        if _https is not None:
            signal.signal(signal.SIGHUP, lambda _s, _f: _reload_children())
        # gateway mode: this process runs the single shipper and supervises the workers
        return supervise(children)

    def forward(signum: int, _frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    status = 0
    try:
        _worker(open_app, sock, background)  # until SIGTERM/SIGINT
    except BaseException:  # noqa: BLE001 - the other workers must still be stopped
        log.exception("worker failed")
        status = 1
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    forward(signal.SIGTERM, None)
    for pid in children:
        while True:
            try:
                _, st = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        if os.waitstatus_to_exitcode(st) not in (0, -signal.SIGTERM, -signal.SIGINT):
            status = 1
    sys.stdout.flush()
    return status
