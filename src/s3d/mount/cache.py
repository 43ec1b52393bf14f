"""Attributes and directory listings, trusted for the attribute cache time.

A listing carries size, ETag and Last-Modified but no user metadata: for an object whose metadata the mount
learned (a HEAD, or its own write) and whose ETag the listing shows unchanged, the listing's entry keeps that
metadata (mtime, mode, uid, gid); other listed objects show Last-Modified until they are looked up on their own.

A lookup is answered from the newest of: the path's own attributes (a HEAD, or a change made through the mount)
and its parent's listing. Changes made through the mount update both at once, so the mount sees its own writes;
changes made over S3 by others show once the cached answer is older than the attribute cache time.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, replace

from s3d.mount.attrs import Entry

ABSENT = None


@dataclass(slots=True)
class _Attr:
    at: float
    entry: Entry | None


@dataclass(slots=True)
class _Listing:
    at: float
    children: dict[str, Entry]
    version: int  # a new number for every change of what is listed: tells whether the kernel's copy still holds


def split(path: str) -> tuple[str, str]:
    """("a/b", "c") for "a/b/c"; ("", "c") for "c"."""
    parent, _, name = path.rpartition("/")
    return parent, name


class MetaCache:
    def __init__(self, ttl: float, listed_attrs: bool = False) -> None:
        self.ttl = ttl
        self.listed_attrs = listed_attrs  # a file's size and mtime decide whether it is listed (a mount filter)
        self._attrs: dict[str, _Attr] = {}
        self._dirs: dict[str, _Listing] = {}
        self._known: dict[str, Entry] = {}  # attributes with their metadata, by path, for as long as the ETag holds
        self._versions = itertools.count(1)
        self._lock = threading.Lock()

    def _fresh(self, at: float, now: float) -> bool:
        return now - at < self.ttl

    def lookup(self, path: str) -> tuple[bool, Entry | None]:
        """(known, entry): known is False when S3 must be asked; entry None means the path does not exist."""
        now = time.monotonic()
        parent, name = split(path)
        with self._lock:
            a = self._attrs.get(path)
            listing = self._dirs.get(parent)
            best: _Attr | None = a if a is not None and self._fresh(a.at, now) else None
            if listing is not None and self._fresh(listing.at, now) and (best is None or listing.at > best.at):
                return True, listing.children.get(name)
            if best is not None:
                return True, best.entry
            return False, None

    def listing(self, path: str) -> tuple[dict[str, Entry], int] | None:
        """The children of `path` and the listing's version, while the listing is fresh."""
        now = time.monotonic()
        with self._lock:
            listing = self._dirs.get(path)
            if listing is None or not self._fresh(listing.at, now):
                return None
            return dict(listing.children), listing.version

    def listing_version(self, path: str) -> int | None:
        """The version of the listing of `path` while it is fresh; None when the next listing asks S3."""
        with self._lock:
            listing = self._dirs.get(path)
            return listing.version if listing is not None and self._fresh(listing.at, time.monotonic()) else None

    def knows(self, path: str, etag: str) -> bool:
        """Whether the metadata of this version of the file is known (from a HEAD or the mount's own write)."""
        with self._lock:
            k = self._known.get(path)
            return k is not None and bool(etag) and k.etag == etag

    def with_known_meta(self, path: str, entry: Entry) -> Entry | None:
        """The listed file `entry` with the metadata known for its ETag; None if none is known."""
        with self._lock:
            k = self._known.get(path)
            return replace(k, size=entry.size) if k is not None and entry.etag and k.etag == entry.etag else None

    def stale_listing_size(self, path: str) -> int | None:
        """How many names the last listing of `path` had, however old it is; None if it was never listed."""
        with self._lock:
            listing = self._dirs.get(path)
            return None if listing is None else len(listing.children)

    def put(self, path: str, entry: Entry | None) -> None:
        """What S3 answered for one path (or what the mount just made it)."""
        now = time.monotonic()
        parent, name = split(path)
        with self._lock:
            listing = self._dirs.get(parent)
            was_dir = self._was_dir(path, listing)
            self._attrs[path] = _Attr(now, entry)
            if entry is not None and entry.etag:
                self._known[path] = entry
            else:
                self._known.pop(path, None)
            self._expire_old()
            if listing is not None:
                before = self._shape(listing.children.get(name))
                if entry is None:
                    listing.children.pop(name, None)
                else:
                    listing.children[name] = entry
                if before != self._shape(entry):
                    listing.version = next(self._versions)
            if (entry is None or not entry.is_dir) and was_dir:
                self._forget_under(path)  # (a scan of the whole cache: only for what was a directory)

    def _was_dir(self, path: str, listing: _Listing | None) -> bool:
        """Whether the cache knew `path` as a directory (and may hold entries under it); under the lock."""
        if path in self._dirs:
            return True
        a = self._attrs.get(path)
        if a is not None and a.entry is not None and a.entry.is_dir:
            return True
        child = listing.children.get(split(path)[1]) if listing is not None else None
        return child is not None and child.is_dir

    def put_listing(self, path: str, children: dict[str, Entry]) -> tuple[dict[str, Entry], int]:
        """What a listing of `path` answered; returns the children as the cache now holds them, where a file whose
        metadata is known for the ETag listed keeps it (a listing's own entries carry Last-Modified only), and the
        listing's version."""
        inside = path + "/" if path else ""
        with self._lock:
            merged = {}
            for name, e in children.items():
                k = self._known.get(inside + name)
                merged[name] = replace(k, size=e.size) if k is not None and e.etag and k.etag == e.etag else e
            old = self._dirs.get(path)
            same = old is not None and self._shapes(old.children) == self._shapes(merged)
            version = old.version if old is not None and same else next(self._versions)
            listing = self._dirs[path] = _Listing(time.monotonic(), merged, version)
            self._expire_old()
            return dict(merged), listing.version

    def _shape(self, entry: Entry | None) -> tuple[object, ...] | None:
        """What of an entry the kernel's copy of a listing depends on: whether it is there and its kind (names are the
        keys), and its size and mtime where a filter on them decides what is listed."""
        if entry is None:
            return None
        return (entry.is_dir, entry.size, entry.mtime_ns) if self.listed_attrs else (entry.is_dir,)

    def _shapes(self, children: dict[str, Entry]) -> dict[str, tuple[object, ...] | None]:
        return {name: self._shape(e) for name, e in children.items()}

    def forget(self, path: str) -> None:
        """Ask S3 next time, for the path and everything under it."""
        with self._lock:
            self._attrs.pop(path, None)
            self._dirs.pop(path, None)
            self._forget_under(path)

    def _forget_under(self, path: str) -> None:
        inside = path + "/" if path else ""
        for d in [d for d in self._dirs if d.startswith(inside) and d != path]:
            del self._dirs[d]
        for p in [p for p in self._attrs if p.startswith(inside) and p != path]:
            del self._attrs[p]
        for p in [p for p in self._known if p.startswith(inside) and p != path]:
            del self._known[p]

    def _expire_old(self) -> None:
        """Drop what is stale, so a long-running mount does not grow without bound."""
        now = time.monotonic()
        if len(self._attrs) > MAX_ATTRS:
            self._attrs = {p: a for p, a in self._attrs.items() if self._fresh(a.at, now)}
        while len(self._known) > MAX_KNOWN:
            del self._known[next(iter(self._known))]  # the oldest learned
        if len(self._dirs) > MAX_LISTINGS:
            self._dirs = {p: d for p, d in self._dirs.items() if self._fresh(d.at, now)}


MAX_ATTRS = 100_000
MAX_LISTINGS = 1_000
MAX_KNOWN = 200_000
