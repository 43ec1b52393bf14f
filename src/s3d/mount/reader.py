"""Ranged reads of one object version: block-aligned GETs, growing and read ahead while access is sequential.

A read that continues where the last one ended doubles the next GET (from the read block up to the read-ahead
size) and fetches the following window in the background; any other read fetches one read block. The segments
fetched are kept (a few at most) so the kernel's parallel read-ahead requests are served from one GET.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

Fetch = Callable[[int, int], bytes]  # (start, end) -> bytes [start, end)
MAX_SEGMENTS = 6


@dataclass(slots=True)
class _Segment:
    start: int
    end: int
    data: Future[bytes]


class Reader:
    def __init__(self, fetch: Fetch, size: int, block: int, ahead: int, pool: Executor) -> None:
        self._fetch = fetch
        self.size = size
        self._block = block
        self._ahead = max(ahead, block)
        self._pool = pool
        self._segments: list[_Segment] = []
        self._lock = threading.Lock()
        self._last_end = -1
        self._window = block

    def read(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self.size)
        if offset >= end:
            return b""
        with self._lock:
            sequential = self._last_end - self._block <= offset <= self._last_end
            self._window = min(self._window * 2, self._ahead) if sequential else self._block
            self._last_end = max(end, self._last_end) if sequential else end
        out = bytearray()
        pos = offset
        while pos < end:
            seg = self._segment_at(pos)
            data = seg.data.result()
            take = data[pos - seg.start : min(end, seg.end) - seg.start]
            if not take:
                break
            out += take
            pos += len(take)
        if sequential:
            self._read_ahead(end)
        return bytes(out)

    def _segment_at(self, pos: int) -> _Segment:
        with self._lock:
            for seg in self._segments:
                if seg.start <= pos < seg.end and not _failed(seg):
                    return seg
            start = pos - pos % self._block
            seg = _Segment(start, min(start + self._window, self.size), Future())
            self._add(seg)
        self._run(seg)
        return seg

    def _read_ahead(self, end: int) -> None:
        with self._lock:
            furthest = max((s.end for s in self._segments if not _failed(s)), default=end)
            if furthest >= self.size or furthest - end >= self._window:
                return
            seg = _Segment(furthest, min(furthest + self._window, self.size), Future())
            self._add(seg)
        self._pool.submit(self._run, seg)

    def _add(self, seg: _Segment) -> None:
        self._segments.append(seg)
        while len(self._segments) > MAX_SEGMENTS:
            self._segments.pop(0)

    def _run(self, seg: _Segment) -> None:
        if not seg.data.set_running_or_notify_cancel():
            return
        try:
            seg.data.set_result(self._fetch(seg.start, seg.end))
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits for this segment
            seg.data.set_exception(e)


def _failed(seg: _Segment) -> bool:
    return seg.data.done() and seg.data.exception() is not None
