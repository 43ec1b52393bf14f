"""The console's main path in a real browser: sign in, create a bucket, upload 20 MiB with progress, browse into
the prefix, download and compare bytes, edit tags, delete the object, then delete the non-empty bucket."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.console.conftest import ALICE, screenshot, sign_in
from tests.support.server import S3dProcess

BIG = 20 * 1024 * 1024  # more than two parts: uploads as multipart


def names(s3: Any) -> list[str]:
    return [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_upload_browse_download_tag_delete(console_server: S3dProcess, context: Any, tmp_path: Path) -> None:
    ak, sk, _ = ALICE
    s3 = client_for(console_server.endpoint, ak, sk)
    page = context.new_page()
    sign_in(page, console_server.endpoint, ak, sk)
    screenshot(page, "buckets-empty")

    page.get_by_label("New bucket name").fill("photos")
    page.get_by_role("button", name="Create bucket").click()
    page.get_by_role("link", name="photos", exact=True).wait_for()
    assert "photos" in names(s3)

    # upload into the prefix docs/ (the browser's view of an empty folder)
    data = os.urandom(BIG)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    page.goto(console_server.endpoint + "/_s3d/console/#/browse/photos/docs%2F")
    page.get_by_role("heading", name="photos/docs/").wait_for()
    page.set_input_files("#upload-files", str(src))
    row = page.locator('li[data-key="docs/big.bin"]')
    row.locator(".state", has_text="done").wait_for(timeout=60_000)
    assert row.locator(".pct").inner_text() == "100%"
    assert page.get_by_label("Upload progress of big.bin").evaluate("p => p.value") == 100
    assert page.locator("#overall-text").inner_text() == "100%"
    head = s3.head_object(Bucket="photos", Key="docs/big.bin")
    assert head["ContentLength"] == BIG
    assert head["ETag"].endswith('-3"')  # three parts of 8 MiB: multipart

    # browse from the bucket's root into the prefix
    page.goto(console_server.endpoint + "/_s3d/console/#/buckets")
    page.get_by_role("link", name="photos", exact=True).click()
    page.get_by_role("link", name="docs/").click()
    page.get_by_role("link", name="big.bin").wait_for()
    screenshot(page, "objects")

    with page.expect_download() as got:
        page.get_by_role("button", name="Download big.bin").click()
    assert Path(got.value.path()).read_bytes() == data

    # tags
    page.get_by_role("link", name="big.bin").click()
    page.get_by_role("heading", name="docs/big.bin").wait_for()
    page.get_by_role("button", name="Add tag").click()
    page.get_by_label("Tag 1 key").fill("project")
    page.get_by_label("Tag 1 value").fill("edge")
    page.get_by_role("button", name="Save tags").click()
    page.get_by_text("Tags saved", exact=True).first.wait_for()
    assert s3.get_object_tagging(Bucket="photos", Key="docs/big.bin")["TagSet"] == [{"Key": "project", "Value": "edge"}]
    screenshot(page, "object")

    # delete the object (with confirmation)
    page.get_by_role("button", name="Delete object").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("heading", name="photos/docs/").wait_for()
    try:
        s3.head_object(Bucket="photos", Key="docs/big.bin")
        raise AssertionError("the object is still there")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "404"

    # a bucket that still holds objects is deleted only after its name is typed
    s3.put_object(Bucket="photos", Key="left/over.txt", Body=b"x")
    page.goto(console_server.endpoint + "/_s3d/console/#/buckets")
    page.get_by_role("button", name="Delete bucket photos").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete bucket").click()
    dialog = page.get_by_role("dialog", name="Bucket not empty")
    dialog.get_by_role("button", name="Delete everything").click()
    assert dialog.is_visible()  # the name was not typed: nothing happens
    assert "photos" in names(s3)
    dialog.get_by_label("Type photos to confirm").fill("photos")
    dialog.get_by_role("button", name="Delete everything").click()
    page.get_by_text("Bucket photos deleted").wait_for()
    assert "photos" not in names(s3)


def test_a_key_with_dot_segments_opens_and_downloads(console_server: S3dProcess, context: Any) -> None:
    """A browser resolves "a/../b" in a URL: the console must still reach the object of that key."""
    ak, sk, _ = ALICE
    s3 = client_for(console_server.endpoint, ak, sk)
    bucket, key = "dots", "logs/../2026/./day.txt"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"dotted")
    try:
        page = context.new_page()
        sign_in(page, console_server.endpoint, ak, sk)
        page.goto(console_server.endpoint + f"/_s3d/console/#/object/{bucket}/{quote(key, safe='')}")
        page.get_by_role("heading", name=key).wait_for()
        with page.expect_download() as got:
            page.get_by_role("button", name="Download", exact=True).click()
        assert Path(got.value.path()).read_bytes() == b"dotted"
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
