"""The sync directory as a component of the daemon: started once, in the main process (s3d/daemon.py).

What starts a pair's run:
- the folder: the kernel's notifications (inotify, through watchfiles);
- the bucket: any commit to the database (``PRAGMA data_version``) after which the pair's prefix
  reads differently (``objects.prefix_signature``) -- a write over S3, a delete, a remote object
  that gateway refresh found, the shipper's own bookkeeping does not count;
- a periodic full rescan, which catches what notifications miss (queue overflow) -- and at start,
  a first run reconciles what changed on either side while the daemon was down.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import watchfiles

from s3d.filters.evaluate import Filter
from s3d.store import journal, objects, sync_state
from s3d.store.errors import BucketAlreadyOwnedByYou
from s3d.store.namespace import Namespace
from s3d.store.store import Store
from s3d.sync import local
from s3d.sync.config import SyncPair
from s3d.sync.pair import PairSync

log = logging.getLogger("s3d.sync")
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch of changes at INFO

RESCAN_SECONDS = 60.0  # full rescan of every pair even when nothing was noticed
POLL_SECONDS = 0.2  # how often the database is asked whether anything committed
WATCH_DEBOUNCE_MS = 200  # longest a burst of folder events is gathered before a run
WATCH_STEP_MS = 50  # a quiet gap this long ends a burst
WATCH_RETRY_SECONDS = 1.0  # a folder that cannot be watched (gone) is tried again after this
ERROR_RETRY_SECONDS = 2.0


def missing_folders(pairs: list[SyncPair]) -> list[Path]:
    """Folders of configured pairs that do not exist: an error at start, not a silent no-op."""
    return [p.dir for p in pairs if not p.dir.is_dir()]


def _not_internal(change: watchfiles.Change, path: str) -> bool:
    return not Path(path).name.startswith(local.INTERNAL) or Path(path).name == local.MARKER


class SyncService:
    def __init__(
        self, pairs: list[SyncPair], store: Store, ns: Namespace, sync_filter: Filter | None, owner: str, region: str
    ) -> None:
        self.store = store
        self.owner = owner
        self.region = region
        self.pairs = [PairSync(p, store, ns, sync_filter) for p in pairs]

    async def prepare(self) -> None:
        """Create missing buckets (owned by the default user); clear what an interrupted run left."""
        for ps in self.pairs:
            if self.store.get_bucket(ps.pair.bucket) is None:
                try:
                    await self.store.create_bucket(ps.pair.bucket, self.owner, self.region)
                    log.info("sync created bucket %s for %s", ps.pair.bucket, ps.pair.dir)
                except BucketAlreadyOwnedByYou:
                    pass
            if ps.pair.dir.is_dir():
                removed = await asyncio.to_thread(local.remove_stale_temps, ps.pair.dir)
                if removed:
                    log.info("sync removed %d unfinished downloads in %s", removed, ps.pair.dir)
        keep = [ps.pair.name for ps in self.pairs]
        await self.store.committer.run(lambda conn: sync_state.drop_pairs_except(conn, keep))

    async def run(self) -> None:
        # A lease break (a writer opening a file in the instant we test it, local.open_for_writing)
        # signals the lease holder with SIGIO, whose default action ends the process.
        signal.signal(signal.SIGIO, signal.SIG_IGN)
        await self.prepare()
        tasks = [asyncio.create_task(self._poll())]
        for ps in self.pairs:
            tasks.append(asyncio.create_task(self._loop(ps)))
            tasks.append(asyncio.create_task(self._watch(ps)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, ps: PairSync) -> None:
        again_in: float | None = 0.0
        while True:
            timeout = RESCAN_SECONDS if again_in is None else min(again_in, RESCAN_SECONDS)
            try:
                await asyncio.wait_for(ps.wake.wait(), timeout)
            except TimeoutError:
                pass
            ps.wake.clear()
            try:
                again_in = (await ps.run()).again_in
            except Exception:  # noqa: BLE001 - one pair's failure must not stop the others
                log.exception("sync %s failed", ps.pair.name)
                again_in = ERROR_RETRY_SECONDS

    async def _watch(self, ps: PairSync) -> None:
        while True:
            try:
                async for _ in watchfiles.awatch(
                    ps.pair.dir,
                    watch_filter=_not_internal,
                    debounce=WATCH_DEBOUNCE_MS,
                    step=WATCH_STEP_MS,
                    recursive=True,
                    ignore_permission_denied=True,
                ):
                    ps.wake.set()
            except (OSError, RuntimeError) as e:
                log.debug("sync cannot watch %s: %s", ps.pair.dir, e)
            ps.wake.set()  # the folder went away, or came back: look
            await asyncio.sleep(WATCH_RETRY_SECONDS)

    async def _poll(self) -> None:
        reader = self.store.reader
        version: int | None = None
        signatures: dict[str, tuple[int, int, float, float]] = {}
        while True:
            now = reader.execute("PRAGMA data_version").fetchone()[0]
            if now != version:
                version = now
                for ps in self.pairs:
                    sig = objects.prefix_signature(reader, ps.pair.bucket, ps.prefix)
                    if signatures.get(ps.pair.name) != sig:
                        signatures[ps.pair.name] = sig
                        ps.lsn = journal.current_lsn(reader)
                        ps.wake.set()
            await asyncio.sleep(POLL_SECONDS)
