"""Gateway mode's main process: supervises the HTTP workers and runs the single shipper.

SIGTERM/SIGINT: the workers stop accepting and finish their requests, then the
shipper drains the queue for up to ``drain_timeout`` seconds and the process
exits, printing what is still pending (it stays in the journal and ships on
the next start).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

from s3d.config import Settings
from s3d.crypto.setup import keyring_for
from s3d.gateway import state
from s3d.gateway.refresh import refresh_loop
from s3d.gateway.shipper import Shipper
from s3d.remote import RemoteError
from s3d.remote.botocore_remote import BotocoreRemote
from s3d.store import db

log = logging.getLogger("s3d.gateway")


def prepare(data: Path) -> None:
    """Create the gateway's tables before any worker may query them."""
    conn = db.connect(str(data / "meta.db"))
    try:
        state.init(conn)
    finally:
        conn.close()


def supervise(settings: Settings, children: list[int]) -> int:
    return asyncio.run(_main(settings, children))


def _reap(children: list[int]) -> list[tuple[int, int]]:
    gone = []
    for pid in list(children):
        try:
            done, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            children.remove(pid)
            continue
        if done:
            children.remove(pid)
            gone.append((pid, os.waitstatus_to_exitcode(st)))
    return gone


async def _probe(shipper: Shipper, remote: BotocoreRemote) -> None:
    """Say at once whether the remote is usable, instead of waiting for the first write."""
    try:
        await remote.list_buckets()
        shipper.remote_ok()
    except RemoteError as e:
        shipper.remote_failed(e)
        log.warning("remote %s is not usable: %s", remote.settings.url, e)


async def _main(settings: Settings, children: list[int]) -> int:
    from s3d.observe import setup as observability

    obs = observability.install(settings, "gateway")  # the shipper's remote calls and events
    g = settings.gateway
    remote = BotocoreRemote(g.remote)
    shipper = Shipper(settings.data, remote, concurrency=g.concurrency)
    shipper.keyring = keyring_for(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    probe = asyncio.create_task(_probe(shipper, remote))
    shipping = asyncio.create_task(shipper.run())
    owner = settings.users[0].name if settings.users else "admin"
    refreshing = asyncio.create_task(refresh_loop(shipper.conn, remote, owner, settings.region, g.remote_refresh))
    status = 0
    while not stop.is_set() and children:
        for pid, code in _reap(children):
            log.error("worker %d exited with %d: stopping", pid, code)
            status = 1
            stop.set()
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while children and time.monotonic() < deadline:
        for _, code in _reap(children):
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                status = 1
        await asyncio.sleep(0.05)
    for t in (shipping, probe, refreshing):
        t.cancel()
    await asyncio.gather(shipping, probe, refreshing, return_exceptions=True)
    drained = await shipper.drain(g.drain_timeout)
    summary = state.queue_summary(shipper.conn)
    if drained:
        print("s3d: queue drained; everything is on the remote", flush=True)
    else:
        print(
            f"s3d: stopping with {summary['pending_records']} records ({summary['pending_bytes']} bytes) not yet shipped; "
            "they stay in the journal and ship on the next start",
            flush=True,
        )
    await shipper.stop()
    remote.close()
    obs.close()
    return status
