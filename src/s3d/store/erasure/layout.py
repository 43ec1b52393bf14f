"""The pool's shape: K data + M parity shards per blob, and which drive holds each shard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SPEC_FORM = re.compile(r"^\s*(\d+)\s*\+\s*(\d+)\s*$")
MAX_SHARDS = 32  # pyeclib's Reed-Solomon backends take k + m up to 32
STRIPE_SIZE = 1 << 20  # data bytes per stripe: a ranged read decodes whole stripes only
HEAL_QUEUE = "heal"  # DATA/heal/<blob>: blobs found damaged, waiting for the healer


class LayoutError(ValueError):
    """The drives and the K+M asked for do not make a pool; the message says why."""


@dataclass(frozen=True, slots=True)
class Layout:
    k: int
    m: int
    drives: tuple[Path, ...]
    stripe_size: int = STRIPE_SIZE

    @property
    def width(self) -> int:
        return self.k + self.m

    def placement(self, blob: str) -> list[int]:
        """The drive of each shard (shard i on the i-th): K+M distinct drives, rotated by the blob's name."""
        n = len(self.drives)
        start = int(blob[:8], 16) % n
        return [(start + i) % n for i in range(self.width)]

    @property
    def min_shards_to_write(self) -> int:
        """A write is acknowledged with at least K+1 durable shards: it survives one more loss at once."""
        return min(self.k + 1, self.width)


def parse(spec: str, drives: list[Path], stripe_size: int = STRIPE_SIZE) -> Layout:
    found = SPEC_FORM.match(spec)
    if found is None:
        raise LayoutError(f"erasure must be K+M (for example 4+2), got {spec!r}")
    k, m = int(found.group(1)), int(found.group(2))
    if k < 1 or m < 1:
        raise LayoutError(f"erasure {spec}: K and M must both be at least 1")
    if k + m > MAX_SHARDS:
        raise LayoutError(f"erasure {spec}: K+M must be at most {MAX_SHARDS}")
    if k + m > len(drives):
        raise LayoutError(f"erasure {spec} needs at least {k + m} drives, {len(drives)} given")
    resolved = [d.resolve() for d in drives]
    if len(set(resolved)) != len(resolved):
        raise LayoutError("drives: the same directory is given twice")
    return Layout(k, m, tuple(drives), stripe_size)
