"""The web console: time until the object list of a prefix holding 10,000 keys is rendered in a real browser.

python -m bench.console [--quick] [--keys N] [--rounds N] [--workdir DIR] [--out FILE]

s3d (default workers) with N keys under one prefix; chromium (Playwright) signs in to the console and opens the
prefix's listing, page sizes 100 and 1000 (the console pages with continuation tokens and never loads every key).
Each figure is the time from the navigation to the frame in which the table holds the page's rows, measured in the
page (performance.now, requestAnimationFrame), median and best of --rounds; also the time to the next page.
The issue's target: under 1 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.servers import S3d

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BUCKET = "bench-console"
PREFIX = "many/"
PAGE_SIZES = (100, 1000)
TARGET_S = 1.0
PUT_THREADS = 8
TIMEOUT_MS = 60_000
NEXT_PAGE = "nav[aria-label=Pages] button:nth-of-type(3)"
# the duration of the last ListObjectsV2 request the page sent (the daemon's part of a render)
LAST_LISTING = """() => {
  const e = performance.getEntriesByType("resource").filter((r) => r.name.includes("list-type=2")).pop();
  performance.clearResourceTimings();
  return e ? e.duration : 0;
}"""
# navigate (a hash change, or a click), then wait for the frame in which the table holds `rows` rows
TIME_TO_RENDERED = """async ([action, rows]) => {
  const t0 = performance.now();
  if (action.startsWith("#")) location.hash = action; else document.querySelector(action).click();
  const done = () => document.querySelectorAll("#objects tbody tr").length === rows
    && !document.getElementById("view").hasAttribute("aria-busy");
  await new Promise((resolve) => { const tick = () => (done() ? resolve() : requestAnimationFrame(tick)); tick(); });
  return performance.now() - t0;
}"""


def _client(server: S3d) -> Any:
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, max_pool_connections=PUT_THREADS)
    return boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1", config=cfg,
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
    )  # fmt: skip


def _fill(client: Any, keys: int) -> None:
    client.create_bucket(Bucket=BUCKET)
    with ThreadPoolExecutor(PUT_THREADS) as pool:
        list(
            pool.map(
                lambda i: client.put_object(Bucket=BUCKET, Key=f"{PREFIX}object-{i:06d}.txt", Body=b"x"), range(keys)
            )
        )


def _figures(rows: int, rendered: list[float], listing: list[float]) -> dict[str, float]:
    return {
        "rows": rows,
        "median_s": statistics.median(rendered),
        "best_s": min(rendered),
        "listing_request_median_s": statistics.median(listing),  # of the render, the daemon's answer
    }


def _measure(server: S3d, keys: int, rounds: int) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    listing = f"#/browse/{BUCKET}/{PREFIX.replace('/', '%2F')}"
    out: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.endpoint + "/_s3d/console/")
        page.fill("#access_key", server.access_key)
        page.fill("#secret_key", server.secret_key)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:text-is('Buckets')")
        for size in PAGE_SIZES:
            rows = min(size, keys)
            page.evaluate(f"() => {{ location.hash = '{listing}'; }}")
            page.wait_for_selector("#page-size")
            page.select_option("#page-size", str(size))
            page.wait_for_function(f"() => document.querySelectorAll('#objects tbody tr').length === {rows}")
            first: list[float] = []
            following: list[float] = []
            listed: dict[str, list[float]] = {"first": [], "next": []}
            for _ in range(rounds):
                page.evaluate("() => { location.hash = '#/buckets'; }")
                page.wait_for_selector("h1:text-is('Buckets')")
                page.evaluate(LAST_LISTING)
                first.append(page.evaluate(TIME_TO_RENDERED, [listing, rows]) / 1000)
                listed["first"].append(page.evaluate(LAST_LISTING) / 1000)
                if keys > size:
                    following.append(page.evaluate(TIME_TO_RENDERED, [NEXT_PAGE, rows]) / 1000)
                    listed["next"].append(page.evaluate(LAST_LISTING) / 1000)
                    assert page.inner_text("nav[aria-label=Pages] span") == "Page 2", "the next page did not open"
            out[f"page_{size}"] = _figures(rows, first, listed["first"])
            if following:
                out[f"next_page_{size}"] = _figures(rows, following, listed["next"])
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds instead of 10")
    ap.add_argument("--keys", type=int, default=10_000, help="keys under the prefix (default 10000)")
    ap.add_argument("--rounds", type=int, help="renders per page size (default 10)")
    ap.add_argument("--workdir", default="/var/tmp", help="where the data dir goes")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "console.json"))
    a, _ = ap.parse_known_args(argv)
    if shutil.which(CHROMIUM) is None:
        print(f"bench.console: {CHROMIUM} is not installed (apt-get install chromium); skipped")
        return 0
    rounds = a.rounds or (3 if a.quick else 10)
    workdir = Path(a.workdir) / "s3d-bench-console"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    server = S3d("s3d", workdir).start()
    try:
        started = time.monotonic()
        _fill(_client(server), a.keys)
        print(f"{a.keys} keys written in {time.monotonic() - started:.1f} s")
        results = _measure(server, a.keys, rounds)
    finally:
        server.stop()
        server.cleanup()
    print(f"console: object list of a prefix with {a.keys} keys, time to rendered (target < {TARGET_S} s)")
    print(f"{'figure':<18}{'rows':>6}{'median s':>10}{'best s':>9}{'listing request median s':>26}")
    for name, r in results.items():
        print(
            f"{name:<18}{r['rows']:>6}{r['median_s']:>10.3f}{r['best_s']:>9.3f}{r['listing_request_median_s']:>26.3f}"
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"keys": a.keys, "rounds": rounds, "target_s": TARGET_S, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
