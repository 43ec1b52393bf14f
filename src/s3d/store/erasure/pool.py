"""ErasurePool: the BlobStore of a pool of drives. Each blob is K data + M parity shard files, one per
drive (layout.py), written through StripedFile (sink.py) and read through BlobReader (reader.py).

Damage found by any process (a read, a write that lost a shard) is queued as an empty file
DATA/heal/<blob>, so it survives restarts and reaches the healer (heal.py) in the main process.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from s3d.store.blobs import Reading, check_room, reserve_for
from s3d.store.erasure.base import Counters
from s3d.store.erasure.codec import Codec
from s3d.store.erasure.drives import Drive
from s3d.store.erasure.layout import HEAL_QUEUE, Layout
from s3d.store.erasure.reader import BlobReader, StripeRead
from s3d.store.erasure.sink import StripedFile

log = logging.getLogger("s3d.erasure")
MEMFD_NAME = "s3d-blob"
PROBE_INTERVAL = 10.0  # seconds between attempts to bring a drive back into service


class ErasurePool:
    by_fd = False  # bytes come decoded (read), not from one file: no sendfile of a blob

    def __init__(self, root: Path, layout: Layout) -> None:
        self.root = root
        self.layout = layout
        self.codec = Codec(layout.k, layout.m)
        self.fragment_size = self.codec.fragment_size(layout.stripe_size)
        self.drives = [Drive(p) for p in layout.drives]
        for d in self.drives:
            d.prepare()
        self.heal_queue = root / HEAL_QUEUE
        self.heal_queue.mkdir(parents=True, exist_ok=True)
        self.reserve = reserve_for(root)  # kept free on the data dir for the metadata (as BlobDir does)
        self.counters = Counters()
        self.encoder = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="s3d-encode")
        self._probed = time.monotonic()

    # ---------- the BlobStore interface ----------
    def check_space(self, fd_or_path: int | Path, more: int) -> None:
        """Room for bytes kept with the metadata (inline objects) on the data dir."""
        check_room(fd_or_path, more, self.reserve)

    def new_file(self) -> StripedFile:
        if time.monotonic() - self._probed > PROBE_INTERVAL:
            self.probe()
        return StripedFile(self)

    def local_path(self, blob: str) -> None:
        return None  # striped over drives: no one file holds it

    def open_read(self, blob: str) -> int:
        """The whole blob, decoded into an anonymous memory file (for readers that need an fd)."""
        reading = self.read(blob, 0, None)
        fd = os.memfd_create(MEMFD_NAME, os.MFD_CLOEXEC)
        try:
            for chunk in reading:
                os.write(fd, chunk)
        except BaseException:
            os.close(fd)
            raise
        finally:
            reading.close()
        return fd

    def open_random(self, blob: str) -> StripeRead:
        return StripeRead(BlobReader(self, blob))

    def read(self, blob: str, offset: int, length: int | None) -> Reading:
        """Bytes [offset, offset+length) of a blob (to its end with None), verified, decoded as needed.
        FileNotFoundError at once if the blob is gone; DataUnavailable if too much of it is lost."""
        r = BlobReader(self, blob)
        return Reading(r.read(offset, r.size - offset if length is None else length), r.close)

    def remove(self, blobs: list[str]) -> None:
        for b in blobs:
            for d in self.placement(b):
                try:
                    os.unlink(d.shard_path(b))
                except OSError:
                    pass  # gone already, or its drive is out: recovery and scrub see to it

    # ---------- the pool ----------
    def placement(self, blob: str) -> list[Drive]:
        return [self.drives[i] for i in self.layout.placement(blob)]

    def probe(self, every: bool = False) -> int:
        """Try every drive out of service again (``every``: the drives in service too, so a drive that
        failed under another process's writes, or under none, is seen). Returns how many came back."""
        self._probed = time.monotonic()
        back = 0
        for d in self.drives:
            if d.in_service and not every:
                continue
            was = d.in_service
            if d.probe() and not was:
                log.info("drive %s is back in service", d.path)
                back += 1
        return back

    @property
    def degraded(self) -> bool:
        return any(not d.in_service for d in self.drives)

    def damaged(self, blob: str, why: str) -> None:
        """Queue a blob for healing (once: a blob read again before it is healed is not logged again)."""
        entry = self.heal_queue / blob
        if entry.exists():
            return
        log.warning("blob %s queued for healing: %s", blob, why)
        self.counters.queued += 1
        try:
            entry.touch()
        except OSError as e:
            log.error("cannot queue blob %s for healing: %s", blob, e.strerror)

    def queued(self) -> list[str]:
        try:
            return sorted(e.name for e in os.scandir(self.heal_queue))
        except OSError:
            return []
