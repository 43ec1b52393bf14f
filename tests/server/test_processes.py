"""Workers die with the main `s3d run` process, so a restart right after a kill -9 of the main succeeds."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.conftest import client_for
from tests.gateway.conftest import own_gateway, start_gateway
from tests.support.server import S3dProcess


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _kill_main_only(proc: S3dProcess) -> list[int]:
    """kill -9 of the main process alone (as a supervisor with KillMode=process does); its workers' pids."""
    assert proc.proc is not None
    workers = _children(proc.proc.pid)
    assert workers, "the daemon forked no workers"
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return workers


def _assert_all_gone(workers: list[int]) -> None:
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:  # never leave orphans behind, even when the test fails
        os.kill(w, signal.SIGKILL)
    assert not survivors


def test_local_workers_exit_and_restart_succeeds(tmp_path: Path) -> None:
    proc = S3dProcess(tmp_path / "data", workers=3).start()
    try:
        s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
        s3.create_bucket(Bucket="survives")
        s3.put_object(Bucket="survives", Key="k", Body=b"acknowledged")
        _assert_all_gone(_kill_main_only(proc))
        proc.start()  # same data dir and port: the lock and the socket are free again
        assert s3.get_object(Bucket="survives", Key="k")["Body"].read() == b"acknowledged"
    finally:
        proc.stop()


def test_gateway_workers_exit_and_restart_ships(tmp_path: Path) -> None:
    with own_gateway(tmp_path) as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="survives")
        _assert_all_gone(_kill_main_only(gw.s3d))  # the shipper dies with the main process
        gw.s3d = start_gateway(tmp_path, gw.remote, port=gw.s3d.port)
        s3.put_object(Bucket="survives", Key="k", Body=b"acknowledged")
        assert gw.flush()["flushed"]
        assert gw.remote.client().get_object(Bucket="survives", Key="k")["Body"].read() == b"acknowledged"
