"""An s3d worker inside the test process: the real S3App, store and HTTP server, on an event loop in a thread.

What serve() builds, without its signal handlers (which only the main thread may set), so a test can
install an observer of its own (an in-memory span exporter) and see what one request produces.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s3d import daemon
from s3d.config import Settings, User
from s3d.gateway import config as gateway_config
from s3d.s3.app import S3App
from s3d.server.http import HttpConnection
from s3d.store.recovery import lock_data_dir, recover
from tests.support.server import ACCESS_KEY, SECRET_KEY


@dataclass
class InProcessS3d:
    data: Path
    remote_url: str | None = None
    port: int = 0
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    thread: threading.Thread | None = None
    close_services: Any = None
    lock_fd: int = -1
    server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> InProcessS3d:
        settings = Settings(
            data=self.data, listen="127.0.0.1:0", workers=1, users=[User(self.access_key, self.secret_key, "admin")]
        )
        self.lock_fd = lock_data_dir(self.data)
        recover(self.data)
        if self.remote_url:
            settings.gateway = gateway_config.load({"remote": self.remote_url}, env={})
        store, ns, gateway, self.close_services = daemon.open_services(settings)
        app = S3App(settings, store, ns, gateway, admin=daemon.admin.handle)
        self.thread = threading.Thread(target=self.loop.run_forever, name="s3d-inprocess", daemon=True)
        self.thread.start()

        async def listen() -> Any:
            return await self.loop.create_server(
                lambda: HttpConnection(app, app.on_error, app.bad_request), "127.0.0.1", 0
            )

        self.server = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:  # idle keep-alive connections, background cache fills
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.close_services is not None:
                self.close_services()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        assert self.thread is not None
        self.thread.join(10)
        self.loop.close()
        os.close(self.lock_fd)
