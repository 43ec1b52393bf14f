"""Observability hooks: the rest of s3d reports here; what listens is configured at start.

The default observer does nothing and costs next to nothing. ``install()``
replaces it (metrics, request logs, traces: see the modules of this package).
Call sites use the module-level ``observer`` through ``get()`` so a later
``install`` is seen everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# remote calls made while serving the current request (one counter per request's task)
remote_calls: ContextVar[list[int] | None] = ContextVar("s3d_remote_calls", default=None)


def count_remote_call() -> None:
    c = remote_calls.get()
    if c is not None:
        c[0] += 1


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    operation: str  # S3 operation name, or "admin"/"unknown"
    method: str
    bucket: str | None
    key: str | None
    status: int
    error_code: str | None
    bytes_in: int
    bytes_out: int
    duration_s: float
    remote_calls: int
    client: str


class Observer:
    """The no-op observer. Subclasses override what they need."""

    def request_done(self, rec: RequestRecord) -> None:
        pass

    def remote_call(self, operation: str, error_code: str | None, duration_s: float, nbytes: int = 0) -> None:
        pass

    def event(self, name: str, level: str = "info", **fields: object) -> None:
        """A shipper/cache event (retry, failure, eviction...), logged with the same fields as requests."""

    @contextmanager
    def span(self, name: str, **attributes: object) -> Iterator[None]:
        yield


_observer: Observer = Observer()


def get() -> Observer:
    return _observer


def install(observer: Observer) -> None:
    global _observer
    _observer = observer
