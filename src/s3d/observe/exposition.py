"""The text of GET /metrics: every process's counters (multi-process mode) plus the store's gauges."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from s3d.observe import metrics
from s3d.observe.collector import StoreCollector
from s3d.observe.gauges import StoreGauges

ENV_DIR = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "S3D_METRICS_TOKEN"


def authorized(headers: Mapping[str, str]) -> bool:
    """True unless S3D_METRICS_TOKEN is set and the request does not carry it as a bearer token."""
    token = os.environ.get(TOKEN_ENV)
    if not token:
        return True
    return hmac.compare_digest(headers.get("authorization", "").encode(), f"Bearer {token}".encode())


def render(gauges: Callable[[], StoreGauges]) -> tuple[bytes, str]:
    """(body, content type): every process's counters, then the gauges read from the store now."""
    path = os.environ.get(ENV_DIR)
    if path and os.path.isdir(path):
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
    else:  # one process (tests, embedding): this process's own values
        registry = metrics.get().registry
    body = generate_latest(registry)
    body += generate_latest(_store_registry(gauges))
    return body, CONTENT_TYPE_LATEST


def _store_registry(gauges: Callable[[], StoreGauges]) -> CollectorRegistry:
    r = CollectorRegistry(auto_describe=False)
    r.register(StoreCollector(gauges))
    return r
