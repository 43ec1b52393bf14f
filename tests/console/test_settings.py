"""Bucket settings (versioning, a policy validated before saving, tags), versions and delete markers, uploads by
drag and drop and their cancellation, and a presigned link with a chosen lifetime, in the browser."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.console.conftest import ALICE, BOB, screenshot, sign_in
from tests.support.server import S3dProcess

ONE_DAY = 86400
BIG = 20 * 1024 * 1024
HELD_WAITS = 200  # tenths of a second the test waits at most for the held part request
DROP_TWO_FILES = """(names) => {
  const dt = new DataTransfer();
  for (const n of names) dt.items.add(new File([`body of ${n}`], n, { type: "text/plain" }));
  const zone = document.getElementById("drop-zone");
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""


@pytest.fixture
def alice_bucket(console_server: S3dProcess) -> Any:
    s3 = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    name = f"alice-{os.getpid()}"
    s3.create_bucket(Bucket=name)
    yield s3, name
    versions = s3.list_object_versions(Bucket=name)
    for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
    for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=name)


def test_bucket_settings_and_versions(console_server: S3dProcess, context: Any, alice_bucket: Any) -> None:
    s3, name = alice_bucket
    page = context.new_page()
    sign_in(page, console_server.endpoint, ALICE[0], ALICE[1])
    page.get_by_role("link", name=f"Settings of {name}").click()
    page.get_by_role("heading", name=f"Settings of {name}").wait_for()

    page.get_by_label("Versioning status").select_option("Enabled")
    page.get_by_role("button", name="Save versioning").click()
    page.get_by_text("Versioning is enabled").wait_for()
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    page.get_by_label("Bucket policy (JSON)").fill('{"Version": "2012-10-17", "Statement": [')
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Not JSON").wait_for()
    no_principal = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    page.get_by_label("Bucket policy (JSON)").fill(json.dumps(no_principal))
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Statement 1: Principal is missing").wait_for()
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=name)  # nothing invalid was sent
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/bob"},
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}],
    }  # fmt: skip
    page.get_by_label("Bucket policy (JSON)").fill(json.dumps(policy))
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Policy saved").wait_for()
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) == policy

    page.get_by_role("button", name="Add tag").click()
    page.get_by_label("Tag 1 key").fill("site")
    page.get_by_label("Tag 1 value").fill("north")
    page.get_by_role("button", name="Save tags").click()
    page.get_by_text("Tags saved", exact=True).first.wait_for()
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "site", "Value": "north"}]
    screenshot(page, "settings")

    # the policy lets bob read (not list): a presigned GET of bob's own works, as on the S3 API
    first = s3.put_object(Bucket=name, Key="doc.txt", Body=b"first")["VersionId"]
    s3.put_object(Bucket=name, Key="doc.txt", Body=b"second")
    bob = client_for(console_server.endpoint, BOB[0], BOB[1])
    assert bob.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"second"
    s3.delete_object(Bucket=name, Key="doc.txt")  # a delete marker on top
    page.goto(console_server.endpoint + f"/_s3d/console/#/object/{name}/doc.txt")
    page.get_by_text("There is no current version").wait_for()
    table = page.locator("table", has=page.get_by_text("versions and delete markers"))
    assert table.locator("caption").inner_text() == "3 versions and delete markers"
    assert table.locator("tbody tr").nth(0).locator("td").nth(1).inner_text() == "delete marker"
    screenshot(page, "versions")
    with page.expect_download() as got:
        page.get_by_role("button", name=f"Download version {first}").click()
    assert Path(got.value.path()).read_bytes() == b"first"


def test_drop_upload_cancel_and_presigned_link(
    console_server: S3dProcess, context: Any, alice_bucket: Any, tmp_path: Path
) -> None:
    s3, name = alice_bucket
    page = context.new_page()
    sign_in(page, console_server.endpoint, ALICE[0], ALICE[1])
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=name, exact=True).wait_for()

    page.evaluate(DROP_TWO_FILES, ["one.txt", "two.txt"])
    page.locator('li[data-key="two.txt"] .state', has_text="done").wait_for()
    page.locator('li[data-key="one.txt"] .state', has_text="done").wait_for()
    for n in ("one.txt", "two.txt"):
        assert s3.get_object(Bucket=name, Key=n)["Body"].read() == f"body of {n}".encode()

    # the second part is held back (never answered) until the upload is cancelled
    held: list[Any] = []
    page.route(lambda url: "/big.bin?partNumber=2&" in url, lambda route: held.append(route))
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(BIG))
    page.set_input_files("#upload-files", str(src))
    row = page.locator('li[data-key="big.bin"]')
    for _ in range(HELD_WAITS):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the second part was never sent"
    assert 0 < int(row.locator(".pct").inner_text().rstrip("%")) < 100
    page.get_by_role("button", name="Cancel upload of big.bin").click()
    row.locator(".state", has_text="cancelled").wait_for()
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    with pytest.raises(ClientError, match="404"):
        s3.head_object(Bucket=name, Key="big.bin")

    # user metadata, saved by a copy of the object onto itself (its type and tags stay)
    s3.put_object_tagging(Bucket=name, Key="two.txt", Tagging={"TagSet": [{"Key": "keep", "Value": "me"}]})
    page.get_by_role("link", name="two.txt").click()
    page.get_by_role("heading", name="two.txt").wait_for()
    page.get_by_role("button", name="Add metadata field").click()
    page.get_by_label("Metadata field 1 key").fill("author")
    page.get_by_label("Metadata field 1 value").fill("alice")
    page.get_by_role("button", name="Add metadata field").click()
    page.get_by_label("Metadata field 2 key").fill("title")
    page.get_by_label("Metadata field 2 value").fill("Grüße ✓")  # sent RFC 2047 encoded, shown decoded
    page.get_by_role("button", name="Save metadata").click()
    page.get_by_text("Metadata saved", exact=True).first.wait_for()
    head = s3.head_object(Bucket=name, Key="two.txt")
    meta = {"author": "alice", "title": "=?UTF-8?B?R3LDvMOfZSDinJM=?="}
    assert (head["Metadata"], head["ContentType"]) == (meta, "text/plain")
    page.reload()
    page.get_by_role("heading", name="two.txt").wait_for()
    assert page.get_by_label("Metadata field 2 value").input_value() == "Grüße ✓"
    assert s3.get_object_tagging(Bucket=name, Key="two.txt")["TagSet"] == [{"Key": "keep", "Value": "me"}]
    page.go_back()

    # a presigned link with a chosen lifetime
    page.get_by_role("button", name="Presigned link to one.txt").click()
    dialog = page.get_by_role("dialog", name="Presigned link")
    dialog.get_by_label("Lifetime").select_option(label="1 day")
    dialog.get_by_role("button", name="Make link").click()
    page.wait_for_function("() => document.getElementById('link-url').value !== ''")
    url = dialog.get_by_label("Presigned URL").input_value()
    assert f"X-Amz-Expires={ONE_DAY}" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"body of one.txt"
