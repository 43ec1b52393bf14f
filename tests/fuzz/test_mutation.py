"""A bounded, seeded mutation run against a live daemon: no 500, no traceback, and the daemon still serves.

CI sends S3D_FUZZ_REQUESTS (default 3000) requests within S3D_FUZZ_SECONDS (default 90) to a local daemon, and a fifth
of that to a gateway in front of `rclone serve s3`; `make fuzz` many more.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz import mutation
from tests.gateway.conftest import own_gateway
from tests.support.rawhttp import call
from tests.support.server import S3dProcess

SEED = int(os.environ.get("S3D_FUZZ_SEED", "20261204"))
REQUESTS = int(os.environ.get("S3D_FUZZ_REQUESTS", "3000"))
SECONDS = float(os.environ.get("S3D_FUZZ_SECONDS", "90"))
SERVER_ERRORS = {500, 502, 504, 505}  # 501 (not implemented) and 503 (slow down) are honest answers
BAD_LOG_LINES = ("Traceback", "unhandled error", "Task exception was never retrieved", "worker failed")


def _target(proc: S3dProcess) -> mutation.Target:
    bucket = "fuzz"
    assert call(proc, "PUT", f"/{bucket}").status == 200
    assert call(proc, "PUT", f"/{bucket}/obj", body=b"0123456789").status == 200
    return mutation.Target(proc.endpoint, proc.port, proc.access_key, proc.secret_key, bucket)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[S3dProcess]:
    proc = S3dProcess(tmp_path / "data", workers=2).start()
    yield proc
    proc.stop()


def test_mutated_requests_get_no_500(local: S3dProcess) -> None:
    _run_and_check(local, REQUESTS)


def test_mutated_requests_get_no_500_in_gateway_mode(tmp_path: Path) -> None:
    with own_gateway(tmp_path) as gw:
        _run_and_check(gw.s3d, max(1, REQUESTS // 5))


def _run_and_check(proc: S3dProcess, count: int) -> None:
    t = _target(proc)
    seen = mutation.run(t, seed=SEED, count=count, seconds=SECONDS)
    statuses = Counter(s for s, _ in seen)
    assert len(seen) >= min(count, 500), statuses  # the run did exercise the daemon
    assert statuses[403] and statuses[200] and statuses[400], statuses  # before and after authentication
    errors = [req[:300] for s, req in seen if s in SERVER_ERRORS]
    assert not errors, (f"seed {SEED}", errors[:5])
    log = (proc.data.parent / f"s3d-{proc.port}.log").read_text(errors="replace")
    lines = log.splitlines()
    bad = ["\n".join(lines[i : i + 40]) for i, ln in enumerate(lines) if any(m in ln for m in BAD_LOG_LINES)]
    for block in bad[:3]:
        print(block)  # shown by pytest with the failure: the whole traceback
    assert not bad, (f"seed {SEED}", bad[:3])
    assert proc.proc is not None and proc.proc.poll() is None
    assert call(proc, "PUT", f"/{t.bucket}/after", body=b"still fine").status == 200
    assert call(proc, "GET", f"/{t.bucket}/after").body == b"still fine"
