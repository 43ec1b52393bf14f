"""The observer the daemon installs: metrics, one log line per request and per event, and (if configured) spans."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING

from s3d.observe import Observer, RequestRecord
from s3d.observe.logs import EVENT_LOGGER, REQUEST_LOGGER, FastLines
from s3d.observe.redact import clean_fields

if TYPE_CHECKING:
    from s3d.observe.metrics import Metrics
    from s3d.observe.tracing import Tracing

REQUEST_SPAN = "s3.request"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}  # fmt: skip
_NULL = nullcontext()

# the id of the request being served by this task, so events raised while serving it name it
current_request: ContextVar[str | None] = ContextVar("s3d_current_request", default=None)


def request_level(rec: RequestRecord) -> int:
    if rec.status >= 500:
        return logging.ERROR if rec.status == 500 else logging.WARNING
    if rec.operation == "admin" and rec.method in ("GET", "HEAD"):
        return logging.DEBUG  # probes and scrapes: every few seconds, forever
    return logging.INFO


def request_fields(rec: RequestRecord) -> dict[str, object]:
    return {
        "request_id": rec.request_id,
        "operation": rec.operation,
        "method": rec.method,
        "bucket": rec.bucket,
        "key": rec.key,
        "status": rec.status,
        "error_code": rec.error_code,
        "bytes_in": rec.bytes_in,
        "bytes_out": rec.bytes_out,
        "duration_ms": round(rec.duration_s * 1000, 3),
        "remote_calls": rec.remote_calls,
        "client": rec.client,
    }


class S3dObserver(Observer):
    def __init__(self, metrics: Metrics | None = None, tracing: Tracing | None = None) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self.requests = logging.getLogger(REQUEST_LOGGER)
        self.fast = FastLines.for_root()
        self.events = logging.getLogger(EVENT_LOGGER)
        self.remote = logging.getLogger("s3d.remote")

    def request_done(self, rec: RequestRecord) -> None:
        trace_id = self.tracing.request_done(rec) if self.tracing is not None else None
        if self.metrics is not None:
            self.metrics.request(rec)
        level = request_level(rec)
        if self.requests.isEnabledFor(level):
            fields = request_fields(rec)
            if trace_id:
                fields["trace_id"] = trace_id
            if self.fast is not None:
                self.fast.emit(REQUEST_LOGGER, level, f"{rec.operation} {rec.status}", fields)
            else:
                self.requests.log(level, "%s %s", rec.operation, rec.status, extra={"s3d": fields})

    def remote_call(self, operation: str, error_code: str | None, duration_s: float, nbytes: int = 0) -> None:
        if self.metrics is not None:
            self.metrics.remote_call(operation, error_code, duration_s)
        if self.remote.isEnabledFor(logging.DEBUG):
            fields: dict[str, object] = {"operation": operation, "error_code": error_code,
                                         "duration_ms": round(duration_s * 1000, 3), "bytes": nbytes}  # fmt: skip
            rid = current_request.get()
            if rid:
                fields["request_id"] = rid
            self.remote.debug("remote %s", operation, extra={"s3d": fields})

    def event(self, name: str, level: str = "info", **fields: object) -> None:
        if self.metrics is not None:
            self.metrics.event(name, fields)
        lvl = LEVELS.get(level.lower(), logging.INFO)
        if self.events.isEnabledFor(lvl):
            out: dict[str, object] = {"event": name, **clean_fields(fields)}
            rid = current_request.get()
            if rid and "request_id" not in out:
                out["request_id"] = rid
            self.events.log(lvl, "%s", name, extra={"s3d": out})

    def span(self, name: str, **attributes: object) -> AbstractContextManager[None]:
        if name == REQUEST_SPAN:
            return self._request(name, attributes)
        if self.tracing is not None:
            return self.tracing.span(name, **attributes)
        return _NULL

    @contextmanager
    def _request(self, name: str, attributes: dict[str, object]) -> Iterator[None]:
        token = current_request.set(str(attributes.get("request_id") or "") or None)
        try:
            if self.tracing is None:
                yield
            else:
                with self.tracing.span(name, **attributes):
                    yield
        finally:
            current_request.reset(token)

    def close(self) -> None:
        if self.fast is not None:
            self.fast.flush()
        if self.tracing is not None:
            self.tracing.close()
        for h in logging.getLogger().handlers:
            h.flush()
