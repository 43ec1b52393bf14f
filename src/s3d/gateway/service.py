"""Gateway mode's main process: supervises the HTTP workers and runs the single shipper and refresh.

SIGTERM/SIGINT: the workers stop accepting and finish their requests, then the shipper drains the
queue for up to ``drain_timeout`` seconds and the process exits, printing what is still pending (it
stays in the journal and ships on the next start).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from s3d.config import Settings
from s3d.crypto.setup import keyring_for
from s3d.filters import gateway as filters
from s3d.filters.evaluate import Filter
from s3d.gateway.config import GatewaySettings
from s3d.gateway.refresh import refresh_loop
from s3d.gateway.shipper import Shipper
from s3d.gateway.status import queue_summary
from s3d.remote import Remote, RemoteError
from s3d.store.blobs import BlobDir, BlobStore
from s3d.store.committer import Committer

log = logging.getLogger("s3d.gateway")
WORKER_STOP_SECONDS = 30.0
REAP_EVERY = 0.2


def release_held(data: Path, upload_filter: Filter | None, mirrors: Sequence[Path] = ()) -> int:
    """At start, before any worker serves: objects the upload filter held and (as it may have changed since the
    last start) now includes get a journal record, so the shipper ships them and a flush waits for them."""
    committer = Committer(str(data / "meta.db"), mirrors=mirrors)
    try:
        return committer.run_sync(lambda c: filters.release_held(c, upload_filter))
    finally:
        committer.close()


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


async def _probe(shipper: Shipper, remote: Remote, url: str) -> None:
    """Say at once whether the remote is usable, instead of waiting for the first write."""
    try:
        await remote.list_buckets()
        shipper.remote_ok()
    except RemoteError as e:
        shipper.remote_failed(e)
        log.warning("remote %s is not usable: %s", url, e)


async def supervise(
    settings: Settings,
    g: GatewaySettings,
    remote: Remote,
    owner: str,
    children: list[int],
    blobs: Callable[[Path], BlobStore] = BlobDir,
) -> int:
    """Ship and refresh until SIGTERM/SIGINT or a worker dies; then stop the workers and drain. ``blobs``: where
    the store keeps blobs (one directory, or an erasure-coded pool)."""
    region = settings.region
    shipper = Shipper(
        settings.data, remote, concurrency=g.concurrency, upload_filter=settings.upload_filter,
        max_attempts=g.ship_max_attempts, fail_after=g.ship_fail_after, settle=g.ship_settle, conflict=g.conflict,
        blobs=blobs, mirrors=settings.mirrors,
    )  # fmt: skip
    shipper.keyring = keyring_for(settings)  # encrypted objects ship decrypted
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    probe = asyncio.create_task(_probe(shipper, remote, g.remote.url))
    shipping = asyncio.create_task(shipper.run())
    refreshing = asyncio.create_task(
        refresh_loop(shipper.conn, shipper.committer, remote, owner, region, g.remote_refresh)
    )
    status = 0
    while not stop.is_set() and children:
        for pid, code in _reap(children):
            log.error("worker %d exited with %d: stopping", pid, code)
            status = 1
            stop.set()
        try:
            await asyncio.wait_for(stop.wait(), REAP_EVERY)
        except TimeoutError:
            pass
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    while children and time.monotonic() < deadline:
        for _, code in _reap(children):
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                status = 1
        await asyncio.sleep(0.05)
    for t in (shipping, probe, refreshing):
        t.cancel()
    await asyncio.gather(shipping, probe, refreshing, return_exceptions=True)
    drained = await shipper.drain(g.drain_timeout)
    summary = queue_summary(shipper.conn)
    if drained:
        print("s3d: queue drained; everything is on the remote", flush=True)
    else:
        print(
            f"s3d: stopping with {summary['pending_records']} records ({summary['pending_bytes']} bytes) not yet shipped; "
            "they stay in the journal and ship on the next start",
            flush=True,
        )
    await shipper.stop()
    return status
