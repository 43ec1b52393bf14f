"""What the pool's parts (the writer of a blob, the reader of one) need of the pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from s3d.store.erasure.codec import Codec
from s3d.store.erasure.drives import Drive
from s3d.store.erasure.layout import Layout


@dataclass(slots=True)
class Counters:
    damaged_fragments: int = 0  # fragments that failed their checksum or could not be read
    unreadable: int = 0  # reads that found more damage than parity covers
    queued: int = 0  # blobs queued for healing by this process


class PoolParts(Protocol):
    layout: Layout
    codec: Codec
    fragment_size: int
    counters: Counters
    encoder: ThreadPoolExecutor  # encodes and writes stripes off the event loop

    def placement(self, blob: str) -> list[Drive]: ...

    def damaged(self, blob: str, why: str) -> None:
        """Queue a blob for healing."""
        ...
