"""The sign-in limiter's unit of counting: an IPv4 address, or an IPv6 /64 (a host's usual share, whose 2**64
addresses would otherwise each get their own tries), and what a successful sign-in clears."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

from s3d.console.limiter import MAX_FAILURES, SignInLimiter, client_key

NOW = 1_000_000.0


@given(st.ip_addresses(v=6), st.integers(0, 2**64 - 1))
def test_every_address_of_an_ipv6_64_counts_as_one_client(address: ipaddress.IPv6Address, host: int) -> None:
    neighbour = ipaddress.IPv6Address((int(address) >> 64 << 64) | host)
    assume(address.ipv4_mapped is None and neighbour.ipv4_mapped is None)  # those are IPv4 clients
    assert client_key(str(address)) == client_key(str(neighbour))


@given(st.ip_addresses(v=6), st.ip_addresses(v=6))
def test_ipv6_addresses_of_different_64s_count_apart(a: ipaddress.IPv6Address, b: ipaddress.IPv6Address) -> None:
    if (int(a) >> 64) != (int(b) >> 64) and a.ipv4_mapped is None and b.ipv4_mapped is None:
        assert client_key(str(a)) != client_key(str(b))


@given(st.ip_addresses(v=4))
def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(address: ipaddress.IPv4Address) -> None:
    assert client_key(f"::ffff:{address}") == client_key(str(address))


@given(st.text())
def test_any_peer_name_has_a_key(peer: str) -> None:
    assert isinstance(client_key(peer), str)


def test_failures_from_one_ipv6_64_add_up(tmp_path: Path) -> None:
    limiter = SignInLimiter(tmp_path)
    for i in range(MAX_FAILURES):
        limiter.failed(f"2001:db8:1:2::{i + 1:x}", "AKALICE", now=NOW)
    assert limiter.wait_seconds("2001:db8:1:2:ffff::9", now=NOW) > 0
    assert limiter.wait_seconds("2001:db8:1:3::1", now=NOW) == 0


def test_a_sign_in_clears_only_the_failures_with_its_own_access_key(tmp_path: Path) -> None:
    limiter = SignInLimiter(tmp_path)
    for _ in range(MAX_FAILURES - 1):
        limiter.failed("192.0.2.1", "AKALICE", now=NOW)
    limiter.failed("192.0.2.1", "AKBOB", now=NOW)
    limiter.succeeded("192.0.2.1", "AKBOB")  # bob remembered his secret: his typo is forgiven, not alice's guesses
    limiter.failed("192.0.2.1", "AKALICE", now=NOW)
    assert limiter.wait_seconds("192.0.2.1", now=NOW) > 0
