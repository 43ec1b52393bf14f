"""The console acts only as the signed-in user: another user's bucket stays out of sight and out of reach, and a
form posted from another site is refused."""

from __future__ import annotations

from typing import Any

from tests.conftest import client_for
from tests.console.conftest import ALICE, BOB, sign_in
from tests.support.server import S3dProcess

EVIL_ORIGIN = "http://evil.test"


def test_user_b_cannot_see_or_open_user_a_bucket(console_server: S3dProcess, context: Any) -> None:
    a = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    a.create_bucket(Bucket="alice-private")
    a.put_object(Bucket="alice-private", Key="secret.txt", Body=b"alice only")
    b = client_for(console_server.endpoint, BOB[0], BOB[1])
    b.create_bucket(Bucket="bob-own")
    try:
        page = context.new_page()
        sign_in(page, console_server.endpoint, BOB[0], BOB[1])
        page.get_by_role("link", name="bob-own", exact=True).wait_for()
        assert page.get_by_role("link", name="alice-private").count() == 0
        page.goto(console_server.endpoint + "/_s3d/console/#/browse/alice-private/")
        page.get_by_role("alert").wait_for()
        assert "AccessDenied" in page.get_by_role("alert").inner_text()
        page.goto(console_server.endpoint + "/_s3d/console/#/object/alice-private/secret.txt")
        page.get_by_role("alert").wait_for()
        assert "secret.txt" not in page.locator("main").inner_text().replace("#/object/alice-private/secret.txt", "")
    finally:
        a.delete_object(Bucket="alice-private", Key="secret.txt")
        a.delete_bucket(Bucket="alice-private")
        b.delete_bucket(Bucket="bob-own")


def test_a_cross_site_form_post_is_refused(console_server: S3dProcess, context: Any) -> None:
    page = context.new_page()
    sign_in(page, console_server.endpoint, ALICE[0], ALICE[1])
    target = console_server.endpoint + "/_s3d/console/signout"
    evil = (
        f'<html><body><form id="f" method="post" action="{target}"><input name="csrf" value="guess"></form>'
        '<script>document.getElementById("f").submit()</script></body></html>'
    )
    page.route(EVIL_ORIGIN + "/**", lambda route: route.fulfill(status=200, content_type="text/html", body=evil))
    with page.expect_response(target) as answer:
        page.goto(EVIL_ORIGIN + "/")
    assert answer.value.status == 403
    assert "refused" in page.locator("body").inner_text()
    # still signed in: the session survived the forged sign-out
    page.goto(console_server.endpoint + "/_s3d/console/")
    page.get_by_role("heading", name="Buckets", exact=True).wait_for()
    assert page.get_by_text("Signed in as").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.goto(console_server.endpoint + "/_s3d/console/")
    page.get_by_role("heading", name="Sign in").wait_for()  # the session is gone


def test_an_html_object_opened_in_the_browser_cannot_act_as_the_signed_in_user(
    console_server: S3dProcess, context: Any
) -> None:
    """An uploaded page shares the console's origin: its script must not run with the console's session."""
    a = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    a.create_bucket(Bucket="alice-pages")
    planted = (
        b"<html><head><title>planted</title></head><body><script>"
        b'fetch("/_s3d/console/").then(r => { document.title = "read the console: " + r.status })'
        b"</script></body></html>"
    )
    a.put_object(Bucket="alice-pages", Key="page.html", Body=planted, ContentType="text/html")
    try:
        page = context.new_page()
        sign_in(page, console_server.endpoint, ALICE[0], ALICE[1])
        url = a.generate_presigned_url("get_object", Params={"Bucket": "alice-pages", "Key": "page.html"})
        with page.expect_response(lambda r: "page.html" in r.url) as answer:
            page.goto(url)
        assert answer.value.headers.get("content-security-policy") == "sandbox"
        page.wait_for_timeout(500)  # time for a script that would run to finish its fetch
        assert page.title() == "planted"
    finally:
        a.delete_object(Bucket="alice-pages", Key="page.html")
        a.delete_bucket(Bucket="alice-pages")


def test_an_object_read_by_an_s3_client_carries_no_sandbox(console_server: S3dProcess) -> None:
    a = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    a.create_bucket(Bucket="alice-plain")
    a.put_object(Bucket="alice-plain", Key="page.html", Body=b"<html></html>", ContentType="text/html")
    try:
        got = a.get_object(Bucket="alice-plain", Key="page.html")
        assert "content-security-policy" not in got["ResponseMetadata"]["HTTPHeaders"]
        assert got["Body"].read() == b"<html></html>"
    finally:
        a.delete_object(Bucket="alice-plain", Key="page.html")
        a.delete_bucket(Bucket="alice-plain")
