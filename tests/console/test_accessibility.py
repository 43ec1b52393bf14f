"""The console with the keyboard alone, and axe-core's checks on each main page (no serious or critical
violation). Screenshots of the pages are kept as test artifacts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import client_for
from tests.console.conftest import ALICE, AXE, screenshot
from tests.support.server import S3dProcess

SEVERE = ("serious", "critical")
MAX_TABS = 40  # a control is reached by Tab within this many presses, or the page fails the test
RUN_AXE = """async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  const severe = r.violations.filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  return { severe, passed: r.passes.length };
}"""


def tab_to(page: Any, element_id: str) -> None:
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def severe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(RUN_AXE)
    assert result["passed"] > 0  # axe ran its rules on the page
    found: list[dict[str, Any]] = result["severe"]
    return found


@pytest.fixture
def axe_context(browser: Any) -> Any:
    # axe is injected into the page: the console's Content-Security-Policy (script-src 'self') would refuse it
    ctx = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def test_keyboard_only_sign_in_and_create_bucket(console_server: S3dProcess, context: Any) -> None:
    page = context.new_page()
    page.goto(console_server.endpoint + "/_s3d/console/")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'access_key'")
    page.keyboard.type(ALICE[0])  # the access key field has the focus (autofocus)
    page.keyboard.press("Tab")
    page.keyboard.type(ALICE[1])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Buckets", exact=True).wait_for()
    tab_to(page, "new-bucket")
    page.keyboard.type("keyboard-made")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="keyboard-made", exact=True).wait_for()
    # open a bucket with the keyboard, then leave its delete dialog with Escape
    page.get_by_role("link", name="keyboard-made", exact=True).focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="keyboard-made").wait_for()
    page.go_back()
    page.get_by_role("button", name="Delete bucket keyboard-made").focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")
    page.get_by_role("button", name="Delete bucket keyboard-made").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # from Cancel (focused first) back to the confirming button
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Delete bucket"
    page.keyboard.press("Enter")
    page.get_by_role("link", name="keyboard-made", exact=True).wait_for(state="detached")
    s3 = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    assert "keyboard-made" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_main_pages_have_no_serious_accessibility_violations(console_server: S3dProcess, axe_context: Any) -> None:
    s3 = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    s3.create_bucket(Bucket="a11y")
    s3.put_object(Bucket="a11y", Key="notes/today.txt", Body=b"hello", Metadata={"author": "alice"})
    s3.put_object(Bucket="a11y", Key="readme.md", Body=b"# hi")
    page = axe_context.new_page()
    base = console_server.endpoint + "/_s3d/console/"
    page.goto(base)
    page.get_by_role("heading", name="Sign in").wait_for()
    found = {"signin": severe_violations(page)}
    screenshot(page, "signin")
    page.get_by_label("Access key").fill(ALICE[0])
    page.get_by_label("Secret key").fill(ALICE[1])
    page.get_by_role("button", name="Sign in").click()
    pages = {
        "buckets": ("#/buckets", "Buckets"),
        "browse": ("#/browse/a11y/", "a11y"),
        "object": ("#/object/a11y/notes%2Ftoday.txt", "notes/today.txt"),
        "settings": ("#/settings/a11y", "Settings of a11y"),
        "status": ("#/status", "Status"),
        "queue": ("#/queue", "Queue"),
        "sync": ("#/sync", "Sync, mounts and filters"),
    }
    try:
        for name, (route, heading) in pages.items():
            page.goto(base + route)
            page.get_by_role("heading", name=heading, exact=True).wait_for()
            page.wait_for_function("() => !document.getElementById('view').hasAttribute('aria-busy')")
            found[name] = severe_violations(page)
            screenshot(page, name)
        # the filters' `why` for a key, on the page left open last
        page.get_by_label("Bucket", exact=True).fill("a11y")
        page.get_by_label("Key", exact=True).fill("readme.md")
        page.get_by_role("button", name="Why?").click()
        page.locator("#why-result pre").get_by_text("no upload_filter: everything is included").wait_for()
    finally:
        for key in ("notes/today.txt", "readme.md"):
            s3.delete_object(Bucket="a11y", Key=key)
        s3.delete_bucket(Bucket="a11y")
    assert {k: v for k, v in found.items() if v} == {}
