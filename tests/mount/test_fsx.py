"""An fsx-style run: seeded random operations on the mount and on a shadow directory keep them identical."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

SEED = 18
OPERATIONS = 2000
TIME_LIMIT = 150.0  # seconds; the run stops early (and says how far it got) rather than outlast the suite
NAMES = [f"f{i}" for i in range(6)] + [f"d{j}/f{i}" for j in range(2) for i in range(3)]
MAX_SIZE = 100_000
MAX_WRITE = 20_000


def snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


class Twin:
    """One operation applied to both trees; each must succeed or fail the same way."""

    def __init__(self, mnt: Path, shadow: Path) -> None:
        self.roots = (mnt, shadow)

    def apply(self, fn) -> None:  # type: ignore[no-untyped-def]
        results = []
        for root in self.roots:
            try:
                results.append(("ok", fn(root)))
            except OSError as e:
                results.append(("error", e.errno))
        assert results[0] == results[1], results


def test_random_operations_match_a_shadow_directory(s3, bucket: str, mnt: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for root in (mnt, shadow):
        for j in range(2):
            (root / f"d{j}").mkdir()
    rng = random.Random(SEED)
    twin = Twin(mnt, shadow)
    deadline = time.monotonic() + TIME_LIMIT
    done = 0
    for done in range(1, OPERATIONS + 1):  # noqa: B007 - reported below
        if time.monotonic() > deadline:
            break
        name = rng.choice(NAMES)
        kind = rng.choices(
            ("write", "append", "truncate", "read", "rename", "unlink", "create"), (5, 2, 2, 5, 2, 1, 1)
        )[0]
        if kind == "write":
            off, data = rng.randrange(MAX_SIZE), rng.randbytes(rng.randrange(1, MAX_WRITE))

            def op(root: Path, name: str = name, off: int = off, data: bytes = data) -> None:
                fd = os.open(root / name, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    os.pwrite(fd, data, off)
                finally:
                    os.close(fd)
        elif kind == "append":
            data = rng.randbytes(rng.randrange(1, MAX_WRITE))

            def op(root: Path, name: str = name, data: bytes = data) -> None:
                with open(root / name, "ab") as f:
                    f.write(data)
        elif kind == "truncate":
            size = rng.randrange(MAX_SIZE)

            def op(root: Path, name: str = name, size: int = size) -> None:
                os.truncate(root / name, size)
        elif kind == "read":
            off, n = rng.randrange(MAX_SIZE), rng.randrange(1, MAX_SIZE)

            def op(root: Path, name: str = name, off: int = off, n: int = n) -> bytes:  # type: ignore[misc]
                fd = os.open(root / name, os.O_RDONLY)
                try:
                    return os.pread(fd, n, off) + b"|" + str(os.fstat(fd).st_size).encode()
                finally:
                    os.close(fd)
        elif kind == "rename":
            other = rng.choice(NAMES)

            def op(root: Path, name: str = name, other: str = other) -> None:
                os.rename(root / name, root / other)
        elif kind == "unlink":

            def op(root: Path, name: str = name) -> None:
                os.unlink(root / name)
        else:

            def op(root: Path, name: str = name) -> None:
                with open(root / name, "xb") as f:
                    f.write(b"new")

        twin.apply(op)
    assert done > OPERATIONS // 10, f"only {done} operations within {TIME_LIMIT}s"
    assert snapshot(mnt) == snapshot(shadow)
    objects = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if not o["Key"].endswith("/")}
    assert objects == set(snapshot(shadow))
    for key in objects:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == (shadow / key).read_bytes(), key
