"""list_keys on a real in-process Store, checked against a plain model of S3 listing.

The model: keys under the prefix, in UTF-8 byte order; with a delimiter, a key
whose rest (after the prefix) contains it rolls up into the common prefix
ending at its first occurrence. Items (keys and prefixes) after the marker
form the listing; max_keys cuts it into pages and NextMarker is the last item
of a page. A common prefix at or before the marker is not repeated, even if the
marker points inside it (that is what a previous page's NextMarker means).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3d.store.listing import successor
from s3d.store.store import Store
from tests.support.store import put_bytes

Item = tuple[str, bytes]  # ("key" | "prefix", bytes)


def model(keys: list[bytes], prefix: bytes, delimiter: bytes, after: bytes) -> list[Item]:
    out: list[Item] = []
    groups: set[bytes] = set()
    for k in sorted(keys):
        if not k.startswith(prefix):
            continue
        i = k.find(delimiter, len(prefix)) if delimiter else -1
        if i >= 0:
            cp = k[: i + len(delimiter)]
            if cp not in groups:
                groups.add(cp)
                if cp > after:
                    out.append(("prefix", cp))
        elif k > after:
            out.append(("key", k))
    return out


def page(
    store: Store, bucket: str, prefix: bytes, delimiter: bytes, after: bytes, max_keys: int
) -> tuple[list[Item], bool, bytes | None]:
    listing = store.list_objects(bucket, prefix, delimiter, after, max_keys)
    items = [("key", e.key) for e in listing.entries] + [("prefix", p) for p in listing.prefixes]
    items.sort(key=lambda it: it[1])
    return items, listing.truncated, listing.next_marker


async def _put_all(store: Store, bucket: str, keys: list[bytes]) -> None:
    await store.create_bucket(bucket, "owner", "us-east-1")
    for i in range(0, len(keys), 2000):
        await asyncio.gather(*(put_bytes(store, bucket, k, k) for k in keys[i : i + 2000]))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "data")
    yield s
    s.close()


def fill(store: Store, bucket: str, keys: list[bytes]) -> None:
    asyncio.run(_put_all(store, bucket, keys))


PIECES = ["a", "b", "/", "//", "-", "é", "\uffff", "\U0010ffff", "\x7f", "z", "ab/", "0"]


def random_keys(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    keys = {"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))).encode() for _ in range(n)}
    return sorted(keys)


def test_listing_matches_the_model_for_prefixes_delimiters_and_markers(store: Store) -> None:
    keys = random_keys(700, seed=11)
    fill(store, "m", keys)
    rng = random.Random(12)
    prefixes = [b"", b"a", b"a/", b"ab/", b"/", "é".encode(), "\uffff".encode(), "\U0010ffff".encode(), b"zz"]
    prefixes += [k[: rng.randint(1, len(k))] for k in rng.sample(keys, 6)]
    delimiters = [b"", b"/", b"//", "é".encode(), "\uffff".encode(), b"ab", b"-/"]
    markers = [b"", b"a/", b"a/b", "\uffff".encode(), b"\xf4\x8f\xbf\xbf/"] + rng.sample(keys, 4)
    checked = 0
    for prefix in prefixes:
        for delimiter in delimiters:
            for after in markers:
                want = model(keys, prefix, delimiter, after)
                got, truncated, _ = page(store, "m", prefix, delimiter, after, 1000)
                assert (got, truncated) == (want, False), (prefix, delimiter, after)
                checked += 1
    assert checked == len(prefixes) * len(delimiters) * len(markers)


@pytest.mark.parametrize("max_keys", [1, 3, 7])
def test_paging_with_next_marker_walks_the_listing_exactly_once(store: Store, max_keys: int) -> None:
    keys = random_keys(300, seed=21)
    fill(store, "p", keys)
    for prefix, delimiter in [(b"", b"/"), (b"a", b"/"), (b"", b"//"), (b"", "\uffff".encode()), (b"", b"")]:
        want = model(keys, prefix, delimiter, b"")
        seen: list[Item] = []
        after = b""
        for _ in range(len(want) + 2):  # bounded: one page per item at worst
            items, truncated, nxt = page(store, "p", prefix, delimiter, after, max_keys)
            assert len(items) <= max_keys
            seen += items
            if not truncated:
                break
            assert nxt == items[-1][1]
            after = nxt
        else:
            raise AssertionError("paging did not end")
        assert seen == want, (prefix, delimiter)


def test_marker_inside_a_common_prefix_does_not_repeat_it(store: Store) -> None:
    fill(store, "in", [b"a/1", b"a/2", b"a/3", b"a/x/deep", b"b", b"c/1"])
    items, truncated, _ = page(store, "in", b"", b"/", b"a/2", 1000)
    assert items == [("key", b"b"), ("prefix", b"c/")] and not truncated
    # without a delimiter the same marker lists the keys after it, inside the folder too
    items, _, _ = page(store, "in", b"", b"", b"a/2", 1000)
    assert [k for _, k in items] == [b"a/3", b"a/x/deep", b"b", b"c/1"]


def test_multichar_and_non_ascii_delimiters(store: Store) -> None:
    keys = [b"x//y", b"x/y", b"x//", b"x///z", "xéy".encode(), "xéé".encode(), b"x"]
    fill(store, "d", keys)
    assert page(store, "d", b"x", b"//", b"", 1000)[0] == [
        ("key", b"x"), ("prefix", b"x//"), ("key", b"x/y"), ("key", "xéy".encode()), ("key", "xéé".encode()),
    ]  # fmt: skip
    assert page(store, "d", b"x", "é".encode(), b"", 1000)[0] == [
        ("key", b"x"), ("key", b"x//"), ("key", b"x///z"), ("key", b"x//y"), ("key", b"x/y"), ("prefix", "xé".encode()),
    ]  # fmt: skip


def test_prefixes_next_to_the_top_of_unicode(store: Store) -> None:
    top, bmp_top = "\U0010ffff", "\uffff"
    keys = [f"{top}/a", f"{top}/b", top, f"{top}{top}", f"{bmp_top}/1", f"{bmp_top}{top}", "\ufffe/x", "z"]
    raw = [k.encode() for k in keys]
    fill(store, "u", raw)
    for prefix in [top, bmp_top, f"{top}/", "\ufffe", ""]:
        for delimiter in ["", "/", top]:
            p, d = prefix.encode(), delimiter.encode()
            assert page(store, "u", p, d, b"", 1000)[0] == model(raw, p, d, b""), (prefix, delimiter)


def test_successor_is_the_least_string_above_a_prefix() -> None:
    assert successor(b"a/") == b"a0"
    assert successor(b"a\xff") == b"b"
    assert successor(b"a\xff\xff") == b"b"
    assert successor(b"\xff") is None
    assert successor("\U0010ffff".encode()) == b"\xf4\x8f\xbf\xc0"


def test_folder_of_twenty_thousand_keys_lists_as_one_prefix(store: Store) -> None:
    many = [f"a/{i:06d}".encode() for i in range(20_000)]
    others = [b"a", b"a-", b"a.txt", b"b/1", b"b/2", b"c"]
    fill(store, "big", many + others)
    items, truncated, _ = page(store, "big", b"", b"/", b"", 1000)
    assert items == [
        ("key", b"a"),
        ("key", b"a-"),
        ("key", b"a.txt"),
        ("prefix", b"a/"),
        ("prefix", b"b/"),
        ("key", b"c"),
    ]
    assert not truncated
    # a page inside the folder: exactly max_keys keys, truncated, NextMarker the last of them
    items, truncated, nxt = page(store, "big", b"a/", b"/", b"a/009999", 1000)
    assert [k for _, k in items] == many[10_000:11_000] and truncated and nxt == many[10_999]
    # max_keys=2 stops after the prefix; the next page starts past the whole folder
    items, truncated, nxt = page(store, "big", b"", b"/", b"a-", 2)
    assert items == [("key", b"a.txt"), ("prefix", b"a/")] and truncated and nxt == b"a/"
    assert page(store, "big", b"", b"/", nxt, 2)[0] == [("prefix", b"b/"), ("key", b"c")]
