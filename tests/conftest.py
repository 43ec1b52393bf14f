from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.support import ceph
from tests.support.remotes import RCLONE, RGW, Remote, make_remote
from tests.support.server import S3dProcess

_names = itertools.count()


def client_for(endpoint: str, access_key: str, secret_key: str, **config: object):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, **config),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    """One s3d daemon (2 workers, as in production) shared by a test session."""
    data = tmp_path_factory.mktemp("s3d") / "data"
    proc = S3dProcess(data, workers=2).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def s3(server: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(server.endpoint, server.access_key, server.secret_key)


@pytest.fixture
def bucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty bucket; emptied and removed afterwards."""
    name = f"test-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=name)
    yield name
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)  # also drops any unfinished multipart uploads


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[S3dProcess]:
    """A daemon of the test's own, for tests that kill or restart it."""
    proc = S3dProcess(tmp_path / "data", workers=2).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def ceph_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ceph.CephCluster]:
    """The test run's one Ceph cluster: the first xdist worker that needs it starts it, the last one stops it."""
    if ceph.missing_binaries():
        pytest.skip(ceph.SKIP_REASON)
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's directory, not the worker's
    yield ceph.acquire(shared)
    ceph.release(shared)


@pytest.fixture
def remote_kind(request: pytest.FixtureRequest) -> str:
    """The kind of remote a test runs against: rclone, unless parametrized (tests.support.remotes.on_remotes)."""
    return getattr(request, "param", RCLONE)


@pytest.fixture
def remote_server(remote_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Remote]:
    """A started remote S3 server of the test's own, stopped after it."""
    cluster = request.getfixturevalue("ceph_cluster") if remote_kind == RGW else None
    remote = make_remote(remote_kind, tmp_path / f"{remote_kind}-root", cluster).start()
    yield remote
    remote.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line for all the Ceph RGW cases skipped because Ceph is not installed."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if ceph.SKIP_REASON in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{ceph.SKIP_REASON} ({len(skipped)} tests)")
