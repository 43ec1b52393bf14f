"""The object list of a prefix: one page at a time by continuation tokens (never the whole prefix), a name filter
and a sort of the page."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import client_for
from tests.console.conftest import ALICE, sign_in
from tests.support.server import S3dProcess

KEYS = 250
PAGE = 100  # the console's default page size


def test_pages_filter_and_sort(console_server: S3dProcess, context: Any) -> None:
    s3 = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    name = f"listing-{os.getpid()}"
    s3.create_bucket(Bucket=name)
    keys = [f"many/k-{i:03d}" for i in range(KEYS)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=name, Key=k, Body=k.encode()), keys))
    try:
        page = context.new_page()
        listings: list[str] = []
        page.on("request", lambda r: listings.append(r.url) if "list-type=2" in r.url else None)
        sign_in(page, console_server.endpoint, ALICE[0], ALICE[1])
        page.goto(console_server.endpoint + f"/_s3d/console/#/browse/{name}/many%2F")
        rows = page.locator("#objects tbody tr")
        first = rows.first.locator("td").nth(1)

        def shown() -> tuple[str, int]:
            return first.inner_text(), rows.count()

        page.get_by_text(f"{PAGE} objects and 0 folders on this page").wait_for()
        assert shown() == ("k-000", PAGE)
        page.get_by_role("button", name="Next page").click()
        page.get_by_text("Page 2").wait_for()
        assert shown() == ("k-100", PAGE)
        page.get_by_role("button", name="Next page").click()
        page.get_by_text("50 objects and 0 folders on this page").wait_for()
        assert shown() == ("k-200", 50)
        assert page.get_by_role("button", name="Next page").is_disabled()
        page.get_by_role("button", name="Previous page").click()
        page.get_by_text("Page 2").wait_for()
        assert shown() == ("k-100", PAGE)

        page.get_by_label("Filter by name prefix").fill("k-24")
        page.get_by_role("button", name="Filter", exact=True).click()
        page.get_by_text("10 objects and 0 folders on this page").wait_for()
        assert shown() == ("k-240", 10)
        page.get_by_label("Sort this page").select_option(label="Name Z–A")
        page.wait_for_function(
            "() => document.querySelector('#objects tbody tr td:nth-child(2)').textContent === 'k-249'"
        )
        assert rows.count() == 10

        assert listings and all(f"max-keys={PAGE}" in u for u in listings)  # never more than a page at a time

        # delete two at once
        page.get_by_label("Select k-241").check()
        page.get_by_label("Select k-243").check()
        page.get_by_role("button", name="Delete selected").click()
        page.get_by_role("dialog").get_by_text("Delete 2 object(s)?").wait_for()
        page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
        page.get_by_text("8 objects and 0 folders on this page").wait_for()
        left = [o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="many/k-24")["Contents"]]
        assert left == [f"many/k-24{i}" for i in (0, 2, 4, 5, 6, 7, 8, 9)]
    finally:
        for k in keys:
            s3.delete_object(Bucket=name, Key=k)
        s3.delete_bucket(Bucket=name)
