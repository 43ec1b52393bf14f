"""Observability hooks: the rest of s3d reports here; what listens is configured at start.

The default observer does nothing and costs next to nothing. ``install()``
replaces it (metrics, request logs, traces: see the modules of this package;
``s3d.observe.setup`` is what the daemon calls at start, and
``s3d.observe.events`` names the events it understands).
Call sites use the module-level ``observer`` through ``get()`` so a later
``install`` is seen everywhere.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
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


_NULL = nullcontext()


class Observer:
    """The no-op observer. Subclasses override what they need."""

    def request_done(self, rec: RequestRecord) -> None:
        pass

    def remote_call(self, operation: str, error_code: str | None, duration_s: float, nbytes: int = 0) -> None:
        pass

    def event(self, name: str, level: str = "info", **fields: object) -> None:
        """A shipper/cache event (retry, failure, eviction...), logged with the same fields as requests."""

    def span(self, name: str, **attributes: object) -> AbstractContextManager[None]:
        """A context manager around a unit of work (a span, when tracing is configured)."""
        return _NULL

    def close(self) -> None:
        """Flush what is buffered (trace exporters) before the process exits."""


_observer: Observer = Observer()


def get() -> Observer:
    return _observer


def install(observer: Observer) -> None:
    global _observer
    _observer = observer
