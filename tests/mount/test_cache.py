"""The mount's metadata cache: a listing's version changes exactly when what the kernel's copy shows changes."""

from __future__ import annotations

from s3d.mount.attrs import Entry
from s3d.mount.cache import MetaCache

TTL = 60.0  # long enough that nothing expires during a test


def version(cache: MetaCache, path: str) -> int:
    v = cache.listing_version(path)
    assert v is not None
    return v


def test_a_new_name_gives_a_new_version() -> None:
    cache = MetaCache(TTL)
    _, first = cache.put_listing("d", {"a": Entry(False, size=1)})
    cache.put("d/b", Entry(False, size=2))
    assert version(cache, "d") != first


def test_a_removed_name_gives_a_new_version() -> None:
    cache = MetaCache(TTL)
    _, first = cache.put_listing("d", {"a": Entry(False, size=1)})
    cache.put("d/a", None)
    assert version(cache, "d") != first


def test_new_attributes_of_a_listed_file_keep_the_version() -> None:
    cache = MetaCache(TTL)
    _, first = cache.put_listing("d", {"a": Entry(False, size=1)})
    cache.put("d/a", Entry(False, size=5, etag='"e"'))
    assert version(cache, "d") == first


def test_with_a_filter_on_attributes_a_new_size_gives_a_new_version() -> None:
    cache = MetaCache(TTL, listed_attrs=True)
    _, first = cache.put_listing("d", {"a": Entry(False, size=1)})
    cache.put("d/a", Entry(False, size=5))
    assert version(cache, "d") != first


def test_a_relisting_with_the_same_names_keeps_the_version() -> None:
    cache = MetaCache(TTL)
    _, first = cache.put_listing("d", {"a": Entry(False, size=1), "s": Entry(True)})
    _, again = cache.put_listing("d", {"a": Entry(False, size=9), "s": Entry(True)})
    assert again == first


def test_a_relisting_where_a_file_became_a_directory_gives_a_new_version() -> None:
    cache = MetaCache(TTL)
    _, first = cache.put_listing("d", {"a": Entry(False, size=1)})
    _, again = cache.put_listing("d", {"a": Entry(True)})
    assert again != first


def test_an_expired_listing_has_no_version() -> None:
    cache = MetaCache(0.0)
    cache.put_listing("d", {"a": Entry(False, size=1)})
    assert cache.listing_version("d") is None
