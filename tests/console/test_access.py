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
