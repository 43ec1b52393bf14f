"""Read a live /metrics with prometheus_client's own parser."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def fetch(endpoint: str, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(endpoint + "/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def scrape(endpoint: str, token: str | None = None) -> Samples:
    status, text = fetch(endpoint, token)
    assert status == 200, text
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate sample {key}"
            out[key] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a labelled counter appears at its first increment)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    """The sum over every label set of a sample name."""
    return sum(v for (n, _), v in samples.items() if n == name)


def names(samples: Samples) -> set[str]:
    return {n for n, _ in samples}


def wait_for(endpoint: str, check: Callable[[Samples], bool], timeout: float = 60.0) -> Samples:
    """Scrape until ``check`` holds (bounded); returns the last scrape either way."""
    deadline = time.monotonic() + timeout
    while True:
        s = scrape(endpoint)
        if check(s) or time.monotonic() >= deadline:
            return s
        time.sleep(0.2)
