"""Gateway mode in the browser: a key the remote keeps refusing shows in the queue as failed; Retry (confirmed
in a dialog) ships it once the remote takes it again. The remote is a real `rclone serve s3` behind a fault proxy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.conftest import client_for
from tests.console.conftest import screenshot, sign_in
from tests.support.fault_proxy import FaultProxy, Rule
from tests.support.remotes import RCLONE, RemoteServer
from tests.support.server import S3dProcess

SETTLE_WAIT = 90.0  # seconds the shipper may take to reach a state (never asserted as a timing)


def wait_until(what: Any, timeout: float = SETTLE_WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"not reached in {timeout} s")


def test_retry_a_failed_record_from_the_queue_page(tmp_path: Path, context: Any) -> None:
    remote = RemoteServer(RCLONE, tmp_path / "rclone-root").start()
    proxy = FaultProxy(remote.port).start()
    proxy.set_rules(Rule("/data/bad", 500, "InternalError", method="PUT"))
    s3d = S3dProcess(
        tmp_path / "data", workers=2, env_extra={**remote.env(), "S3D_SHIP_MAX_ATTEMPTS": "2"},
        args=["--remote", proxy.url, "--drain-timeout", "5"],
    ).start()  # fmt: skip
    try:
        s3 = client_for(s3d.endpoint, s3d.access_key, s3d.secret_key)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="bad", Body=b"refused at first")
        page = context.new_page()
        sign_in(page, s3d.endpoint, s3d.access_key, s3d.secret_key)
        page.get_by_role("link", name="Queue").click()
        page.get_by_text("1 failed records").wait_for(timeout=SETTLE_WAIT * 1000)
        screenshot(page, "queue")
        page.get_by_role("link", name="Status").click()
        page.get_by_text("Failed records", exact=True).wait_for()
        screenshot(page, "status")
        lag = page.evaluate("async () => (await fetch('/_s3d/console/api/lag')).json()")
        assert lag["available"] is True
        assert lag["samples"][-1]["records"] >= 1  # the refused key's record is still pending

        proxy.set_rules()  # the remote takes the key again
        page.get_by_role("link", name="Queue").click()
        page.get_by_role("button", name="Retry data/bad").click()
        with page.expect_response(lambda r: "/_s3d/queue/retry?" in r.url) as answer:
            page.get_by_role("dialog").get_by_role("button", name="Retry").click()
        assert answer.value.status == 200
        assert answer.value.json() == {"retrying": "data/bad"}
        page.get_by_text("0 failed records").wait_for(timeout=SETTLE_WAIT * 1000)
        rc = remote.client()
        body = wait_until(lambda: _remote_body(rc))
        assert body == b"refused at first"
    finally:
        s3d.stop()
        proxy.stop()
        remote.stop()


def _remote_body(rc: Any) -> bytes | None:
    try:
        data: bytes = rc.get_object(Bucket="data", Key="bad")["Body"].read()
        return data
    except rc.exceptions.ClientError:
        return None
