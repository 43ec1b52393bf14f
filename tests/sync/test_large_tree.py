"""A 10,000-file tree: the initial sync completes (bounded), and a later single change still reaches
the bucket within the promised 2 s."""

from __future__ import annotations

import subprocess
import sys

from tests.sync.conftest import PROPAGATION, Synced, wait_until, write_file

FILES = 10_000
INITIAL_BOUND = 180.0  # seconds; a bound against hanging, not a performance assertion
MAKE_TREE = """
import os, sys
root = sys.argv[1]
for i in range(int(sys.argv[2])):
    d = os.path.join(root, f"dir{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i:05d}.txt"), "w") as f:
        f.write(f"file {i}\\n")
"""


def count(s: Synced) -> int:
    pages = s.s3.get_paginator("list_objects_v2").paginate(Bucket=s.bucket)
    return sum(1 for p in pages for o in p.get("Contents", []) if not o["Key"].endswith("/"))  # directory markers aside


def test_a_10000_file_tree_syncs_and_later_changes_still_propagate(own_synced: Synced) -> None:
    subprocess.run([sys.executable, "-c", MAKE_TREE, str(own_synced.folder), str(FILES)], check=True)
    wait_until(lambda: count(own_synced) == FILES, timeout=INITIAL_BOUND, what="the initial sync")
    assert own_synced.get("dir042/file09942.txt") == b"file 9942\n"
    wait_until(own_synced.settled, timeout=INITIAL_BOUND, what="settling")
    write_file(own_synced.folder / "dir007/changed.txt", b"one more")
    wait_until(lambda: own_synced.get("dir007/changed.txt") == b"one more", timeout=PROPAGATION, what="the change")
