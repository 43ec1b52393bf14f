"""A file written from empty in one sequential pass goes up while it is written: a multipart upload whose parts
are sent in the background from the staging file as soon as they are complete, so close only sends the last part
and completes the upload (which the daemon commits durably before it answers).

The upload is only a candidate until then: it is not an object, so a mount that dies before close leaves the old
object as it was (and an incomplete upload, which the daemon's lifecycle rules or an abort remove). Whatever
breaks the pattern (a write elsewhere than at the end, a truncate, a change of mode or owner, a failed part) aborts
the upload, and close uploads the staging file whole as before. The object's mtime is its Last-Modified (the
completion, at close): the last write's time is not known when the upload starts.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections import deque
from concurrent.futures import Executor, Future
from pathlib import Path

from s3d.mount.objects import Objects, Part

log = logging.getLogger("s3d.mount")

PART_SIZE = 16 * 1024 * 1024  # the first parts; a file that reaches this size is streamed
PARTS_PER_SIZE = 1000  # the part size doubles after this many parts (S3 allows 10,000 parts)
PART_MAX = 4 * 1024**3  # S3 allows 5 GiB
STREAM_PARALLEL = 4  # parts in flight
HASH_CHUNK = 1024 * 1024  # reads of what the staging file held when the upload started


def part_size(number: int) -> int:
    return int(min(PART_SIZE * 2 ** ((number - 1) // PARTS_PER_SIZE), PART_MAX))


class Stream:
    """Started on a staging file that holds `size` bytes; `appended` is then told of every byte added at its end.

    Each part's CRC32C is computed as its bytes are written (the file is read back once, for what it held at the
    start), so sending a part is a sendfile of its range."""

    def __init__(
        self, objects: Objects, path: str, staged: Path, size: int, meta: dict[str, str], pool: Executor
    ) -> None:
        self._objects = objects
        self._path = path
        self._staged = staged
        self.meta = meta
        self._pool = pool
        self._upload_id = objects.start_upload(path, meta)
        self._parts: dict[int, Future[Part]] = {}
        self._queue: deque[tuple[int, int, int, str]] = deque()  # (number, offset, size, crc32c) not sent yet
        self._sent = 0  # bytes given to parts
        self._crc = 0  # of the bytes after those, up to the end of the file
        self._end = 0
        self._running = 0
        self._aborted = False
        self._lock = threading.Lock()
        with open(staged, "rb", buffering=0) as f:
            buf = bytearray(HASH_CHUNK)
            with memoryview(buf) as view:
                while self._end < size and (n := f.readinto(view[: min(HASH_CHUNK, size - self._end)])):
                    self._hash(view[:n])
        self._pump()

    @property
    def sent(self) -> int:
        """The bytes given to parts: they must not change any more."""
        return self._sent

    def appended(self, data: bytes) -> None:
        """`data` was written at the end of the file: send every part that is now complete."""
        with memoryview(data) as view:
            self._hash(view)
        self._pump()

    def _hash(self, view: memoryview) -> None:
        from awscrt import checksums

        with self._lock:
            while len(view) and not self._aborted:
                size = part_size(len(self._parts) + 1)
                take = min(len(view), self._sent + size - self._end)
                self._crc = checksums.crc32c(view[:take], self._crc)
                self._end += take
                view = view[take:]
                if self._end - self._sent == size:
                    self._add(size)

    def _add(self, size: int) -> None:
        """The next part, of `size` bytes from `sent` on, whose CRC32C is the running one; under the lock."""
        number = len(self._parts) + 1
        self._parts[number] = Future()
        self._queue.append((number, self._sent, size, base64.b64encode(self._crc.to_bytes(4, "big")).decode()))
        self._sent += size
        self._crc = 0

    def _pump(self) -> None:
        jobs = []
        with self._lock:
            while self._queue and self._running < STREAM_PARALLEL and not self._aborted:
                jobs.append(self._queue.popleft())
                self._running += 1
        for job in jobs:
            self._pool.submit(self._send, *job)

    def _send(self, number: int, offset: int, size: int, crc: str) -> None:
        fut = self._parts[number]
        try:
            part = self._objects.upload_part(self._path, self._upload_id, number, self._staged, offset, size, crc)
            fut.set_result(part)
        except BaseException as e:  # noqa: BLE001 - handed to finish, which falls back to a whole upload
            fut.set_exception(e)
        with self._lock:
            self._running -= 1
        self._pump()

    def finish(self, size: int, meta: dict[str, str]) -> str | None:
        """Send the rest and complete the upload; its ETag, or None when the whole file must be uploaded instead
        (the upload is then aborted)."""
        with self._lock:
            usable = not self._aborted and meta == self.meta and size == self._end
            if usable and size > self._sent:
                self._add(size - self._sent)
        if not usable:
            self.abort()
            return None
        self._pump()
        try:
            parts = [self._parts[n].result() for n in sorted(self._parts)]
            return self._objects.complete_upload(self._path, self._upload_id, parts)
        except Exception as e:  # noqa: BLE001 - the whole upload says what is wrong, if anything still is
            log.info("streamed upload of %s failed (%s); uploading the file whole", self._path, e)
            self.abort()
            return None

    def abort(self) -> None:
        """Give the upload up (in the background, once its parts in flight are done)."""
        with self._lock:
            if self._aborted:
                return
            self._aborted = True
            for number, *_ in self._queue:
                self._parts[number].cancel()
            self._queue.clear()
            pending = [f for f in self._parts.values() if not f.done()]
        self._pool.submit(self._abort, pending)

    def _abort(self, pending: list[Future[Part]]) -> None:
        for f in pending:
            try:
                f.result()
            except BaseException:  # noqa: BLE001, S110 - the upload is being given up anyway
                pass
        try:
            self._objects.abort_upload(self._path, self._upload_id)
        except Exception as e:  # noqa: BLE001 - left for the daemon's lifecycle rules
            log.info("could not abort the upload of %s: %s", self._path, e)
