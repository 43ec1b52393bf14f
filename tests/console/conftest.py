"""Browser tests of the web console: Playwright (sync API) driving Debian's chromium against a real daemon."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import S3dProcess

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"  # screenshots (gitignored)
AXE = Path(__file__).with_name("axe.min.js")  # axe-core 4.14.1 (MPL-2.0), from npm: the accessibility checker

# two users besides the daemon's admin (S3D_ACCESS_KEY): neither may see the other's buckets
ALICE = ("ALICEACCESSKEY", "alice-secret-key-0123456789", "alice")
BOB = ("BOBACCESSKEY0000", "bob-secret-key-0123456789", "bob")


def users_toml(*users: tuple[str, str, str]) -> str:
    return "".join(f'[[users]]\naccess_key = "{a}"\nsecret_key = "{s}"\nname = "{n}"\n\n' for a, s, n in users)


def start_console_daemon(root: Path, *args: str, workers: int = 2, env: dict[str, str] | None = None) -> S3dProcess:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "s3d.toml"
    config.write_text(users_toml(ALICE, BOB))
    return S3dProcess(
        root / "data", workers=workers, args=["--config", str(config), *args], env_extra=env or {}
    ).start()


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    """One daemon (2 workers: a session made by one worker is used on the other) for the browser tests."""
    proc = start_console_daemon(tmp_path_factory.mktemp("console"))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def _playwright() -> Iterator[tuple[Any, asyncio.AbstractEventLoop]]:
    """One chromium for the whole session, and the event loop Playwright's sync API drives it with."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        loop = asyncio.get_running_loop()
        _let_go_of(loop)
        yield b, loop
        with _holding(loop):
            b.close()
        asyncio._set_running_loop(loop)  # sync_playwright's exit stops the loop it expects to find running


def _let_go_of(loop: asyncio.AbstractEventLoop) -> None:
    """Playwright's sync API leaves its loop marked as running in this thread after every call; other tests
    sharing this xdist worker (asyncio.run, a logger flushing on the loop) would find it there."""
    if asyncio._get_running_loop() is loop:
        asyncio._set_running_loop(None)


@contextmanager
def _holding(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    asyncio._set_running_loop(loop)
    try:
        yield
    finally:
        _let_go_of(loop)


@pytest.fixture
def browser(_playwright: tuple[Any, asyncio.AbstractEventLoop]) -> Iterator[Any]:
    """The session's chromium, for one test: Playwright's loop is this thread's only while the test runs."""
    b, loop = _playwright
    with _holding(loop):
        yield b


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, endpoint: str, access_key: str, secret_key: str) -> None:
    page.goto(endpoint + "/_s3d/console/")
    page.get_by_label("Access key").fill(access_key)
    page.get_by_label("Secret key").fill(secret_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Buckets", exact=True).wait_for()
