"""Reed-Solomon through pyeclib (its wheel bundles Intel ISA-L): one stripe in, K+M fragments out, and back."""

from __future__ import annotations

from collections.abc import Sequence

from pyeclib.ec_iface import ECDriver

BACKEND = "isa_l_rs_vand"  # systematic Vandermonde Reed-Solomon: fragments 0..K-1 carry the data itself


class Codec:
    def __init__(self, k: int, m: int) -> None:
        self.k = k
        self.m = m
        self._driver = ECDriver(k=k, m=m, ec_type=BACKEND)

    def encode(self, stripe: bytes | bytearray | memoryview) -> list[bytes]:
        frags: list[bytes] = self._driver.encode(bytes(stripe))
        return frags

    def decode(self, fragments: Sequence[bytes]) -> bytes:
        """The stripe from any K of its fragments (each carries its own index)."""
        data: bytes = self._driver.decode(list(fragments))
        return data

    def fragment_size(self, stripe_size: int) -> int:
        """Length of each fragment of a full stripe."""
        return len(self.encode(bytes(stripe_size))[0])
