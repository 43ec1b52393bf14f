"""Wiring: the one place that builds s3d's parts and hands them to each other.

    local mode:   Store -> LocalNamespace -> S3App (+ admin) -> server workers
                  main process (also a worker): the lifecycle scanner
    gateway mode: Store + BotocoreRemote + BlockCache -> GatewayNamespace -> S3App (+ admin)
                  main process: Shipper + refresh (gateway/service.py) and the lifecycle
                  scanner beside the workers
    sync pairs:   SyncService (sync/service.py) on its own Store and Namespace, in the main process
                  only (local mode: beside serving; gateway mode: beside the shipper)

Everything else types against interfaces (``Namespace``, ``Remote``); only this module names the
concrete classes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from s3d.admin import endpoints as admin
from s3d.config import ConfigError, Settings
from s3d.console import routes as console
from s3d.crypto.setup import keyring_for
from s3d.gateway.cache import BlockCache, Capacity
from s3d.gateway.config import GatewaySettings
from s3d.gateway.namespace import GatewayNamespace
from s3d.gateway.service import release_held, supervise
from s3d.observe import setup as observability
from s3d.remote import Remote
from s3d.s3.app import S3App
from s3d.server import run as server
from s3d.store import mirror
from s3d.store.blobs import BlobDir, BlobStore
from s3d.store.erasure import identity
from s3d.store.erasure.pool import ErasurePool
from s3d.store.erasure.service import Healer
from s3d.store.lifecycle import Scanner
from s3d.store.namespace import LocalNamespace, Namespace
from s3d.store.recovery import lock_data_dir, lock_drives, recover
from s3d.store.store import Store
from s3d.sync.service import SyncService, missing_folders

log = logging.getLogger("s3d")
DEFAULT_OWNER = "admin"


def default_owner(settings: Settings) -> str:
    """Who owns buckets found on the remote: the first configured user (the generated one by default)."""
    return settings.users[0].name if settings.users else DEFAULT_OWNER


def blob_store(settings: Settings) -> Callable[[Path], BlobStore]:
    """Where blobs live: the data dir itself, or the erasure-coded pool of --drives."""
    layout = settings.layout
    if layout is None:
        return BlobDir
    return lambda root: ErasurePool(root, layout)


def open_remote(g: GatewaySettings) -> Remote:
    from s3d.remote.botocore_remote import BotocoreRemote  # imported here: botocore (~20 MiB) only in gateway mode

    return BotocoreRemote(g.remote)


def open_services(settings: Settings) -> tuple[Store, Namespace, GatewayNamespace | None, Callable[[], None]]:
    """A worker's store and namespace (and the gateway's, in gateway mode), and what closes them."""
    store = Store(settings.data, inline_max=settings.inline_max, blobs=blob_store(settings), mirrors=settings.mirrors)
    g = settings.gateway
    if g is None:
        return store, LocalNamespace(store), None, store.close
    remote = open_remote(g)  # made in the worker process, never inherited across fork
    cache = BlockCache(store, remote, g, Capacity(store, g.capacity))
    gateway = GatewayNamespace(store, remote, cache, g.cache_filter, default_owner(settings), settings.region)

    def close() -> None:
        remote.close()
        store.close()

    return store, gateway, gateway, close


def housekeeping(store: Store, settings: Settings) -> list[asyncio.Task[None]]:
    """The tasks one process runs for the whole data dir: the lifecycle scanner, and the pool's healer."""
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(Scanner(store, settings.lifecycle_day_seconds).run())]
    if isinstance(store.blobs, ErasurePool):  # heals and scrubs the pool
        tasks.append(loop.create_task(Healer(store.blobs, store.db_path, settings.scrub_bytes_per_second).run()))
    return tasks


def open_app(settings: Settings, main_pid: int) -> tuple[S3App, Callable[[], None]]:
    obs = observability.install(settings, "worker")  # metrics, request logs, traces (after the fork)
    store, ns, gateway, close_services = open_services(settings)
    admin_handler = console.mounted(settings, admin.handle) if settings.console else admin.handle
    app = S3App(settings, store, ns, gateway, admin=admin_handler)
    # local mode: one process scans (heals); in gateway mode the supervisor does
    background = housekeeping(store, settings) if settings.gateway is None and os.getpid() == main_pid else []

    def close() -> None:
        for task in background:
            task.cancel()
        close_services()
        obs.close()

    return app, close


async def run_sync(settings: Settings) -> None:
    """The sync pairs, until cancelled: one SyncService on the main process's own store and namespace."""
    store, ns, _, close = open_services(settings)
    try:
        await SyncService(
            settings.sync, store, ns, settings.sync_filter, default_owner(settings), settings.region
        ).run()
    finally:
        close()


def _supervisor(settings: Settings, g: GatewaySettings) -> server.Supervise:
    def run(children: list[int]) -> int:
        async def main() -> int:
            obs = observability.install(settings, "gateway")  # the shipper's remote calls and events
            remote = open_remote(g)
            owner = default_owner(settings)
            store = Store(
                settings.data, inline_max=settings.inline_max, blobs=blob_store(settings), mirrors=settings.mirrors
            )
            background = housekeeping(store, settings)
            syncing = asyncio.create_task(run_sync(settings)) if settings.sync else None
            try:
                return await supervise(settings, g, remote, owner, children, blob_store(settings))
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                if syncing is not None:
                    syncing.cancel()
                    await asyncio.gather(syncing, return_exceptions=True)
                store.close()
                remote.close()
                obs.close()

        return asyncio.run(main())

    return run


@contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """The data dir's lock and each of the pool's drives', taken before anything reads or writes them.

    Held (and inherited by the forked workers) until the last process exits: a second daemon on the same
    data dir, or on the same drives with another data dir, would take in-flight blobs (shards) for orphans
    and delete them, and copy its own database over the running daemon's metadata mirrors.
    """
    fds = [lock_data_dir(settings.data)]
    try:
        fds += lock_drives(settings.drives)
        yield
    finally:
        for fd in fds:
            os.close(fd)


def restore_metadata(settings: Settings) -> None:
    """A pool's data dir that lost its database takes a mirror's (before anything else is made there).
    The caller holds ``locked(settings)``."""
    layout = settings.layout
    if layout is None:
        return
    mirror.restore(settings.data, mirror.mirror_dirs(layout.drives, layout.m))


def run(settings: Settings) -> int:
    """`s3d run`: recover the data dir (and the pool's drives), then serve until SIGTERM/SIGINT. The caller
    holds ``locked(settings)`` until this returns."""
    missing = missing_folders(settings.sync)
    if missing:
        raise ConfigError(f"sync folder {missing[0]} does not exist")
    main_pid = os.getpid()
    observability.prepare(settings)  # log format; a clean metrics dir for every process, set before forking
    try:
        return _serve(settings, main_pid)
    finally:
        if os.getpid() == main_pid:
            observability.release()  # the metrics files live in memory


def _serve(settings: Settings, main_pid: int) -> int:
    """What `run` does once the metrics directory is set: the keyring, recovery, then the server."""
    keyring_for(settings)  # the master key file is made (or found wanting) before any worker forks
    if settings.layout is None:
        identity.refuse_without_pool(settings.data)
    else:
        identity.check(settings.data, settings.layout)
    r = recover(settings.data, settings.drives)
    if r.tmp_removed or r.orphans_removed:
        log.info("recovery removed %d temporary files and %d orphan blobs", r.tmp_removed, r.orphans_removed)
    if settings.layout is not None:  # the metadata on M more drives: M+1 copies (store/mirror.py)
        settings.mirrors = mirror.resync(settings.data, mirror.mirror_dirs(settings.layout.drives, settings.layout.m))
    g = settings.gateway
    if g is not None:
        release_held(
            settings.data, settings.upload_filter, settings.mirrors
        )  # before any worker serves or a flush is asked
    if g is not None:
        return server.run(settings, lambda: open_app(settings, main_pid), _supervisor(settings, g))
    return server.run(
        settings,
        lambda: open_app(settings, main_pid),
        None,
        (lambda: run_sync(settings)) if settings.sync else None,
    )
