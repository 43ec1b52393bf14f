"""OpenTelemetry spans: a request span (SERVER) with children for store commits and remote calls.

Imported only when tracing is configured (see ``setup.tracing_configured``): the
SDK is never loaded otherwise. Spans are made current in the calling task's
context (contextvars), so spans opened later in the same request, across
awaits, are its children.

The request span is opened by ``S3App`` before the operation is known; it is
ended by ``request_done`` (which names its operation, status, bucket and key),
or on the way out if the request fails before that.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from s3d.observe import RequestRecord

REQUEST_SPAN = "s3.request"
MAX_OPEN = 10000  # request spans waiting for request_done; beyond this the oldest are ended as they are


def _kind(name: str) -> SpanKind:
    if name == REQUEST_SPAN:
        return SpanKind.SERVER
    if name.startswith("remote."):
        return SpanKind.CLIENT
    return SpanKind.INTERNAL


def _attributes(attrs: dict[str, object]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if v is None:
            continue
        if k == "method":
            out["http.request.method"] = v
        elif k == "request_id":
            out["s3d.request_id"] = v
        else:
            out[k if "." in k else "s3d." + k] = v if isinstance(v, str | bool | int | float) else str(v)
    return out


class Tracing:
    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("s3d")
        self.open: dict[str, Span] = {}

    @contextmanager
    def span(self, name: str, **attributes: object) -> Iterator[None]:
        attrs = _attributes(attributes)
        if name != REQUEST_SPAN:
            with self.tracer.start_as_current_span(name, kind=_kind(name), attributes=attrs):
                yield
            return
        rid = str(attributes.get("request_id", ""))
        span = self.tracer.start_span(name, kind=SpanKind.SERVER, attributes=attrs)
        if len(self.open) >= MAX_OPEN:
            self.open.pop(next(iter(self.open))).end()
        self.open[rid] = span
        try:
            with trace.use_span(span, end_on_exit=False):
                yield
        except BaseException:
            self.open.pop(rid, None)
            span.end()
            raise

    def request_done(self, rec: RequestRecord) -> str | None:
        """End the request's span with what is now known; returns its trace id (hex) for the log line."""
        span = self.open.pop(rec.request_id, None)
        if span is None:
            return None
        span.set_attributes(
            {
                "s3d.operation": rec.operation,
                "http.response.status_code": rec.status,
                "s3d.bytes_in": rec.bytes_in,
                "s3d.bytes_out": rec.bytes_out,
                "s3d.remote_calls": rec.remote_calls,
                "client.address": rec.client,
            }
        )
        if rec.bucket:
            span.set_attribute("aws.s3.bucket", rec.bucket)
        if rec.key:
            span.set_attribute("aws.s3.key", rec.key)
        if rec.error_code:
            span.set_attribute("s3d.error_code", rec.error_code)
        if rec.status >= 500:
            span.set_status(Status(StatusCode.ERROR, rec.error_code or str(rec.status)))
        span.end()
        return format(span.get_span_context().trace_id, "032x")

    def close(self) -> None:
        for span in self.open.values():
            span.end()
        self.open.clear()
        self.provider.shutdown()


def exporter_from_env(env: dict[str, str]) -> SpanExporter:
    """The exporter OTEL_TRACES_EXPORTER names (otlp by default, over OTLP/HTTP unless the protocol says grpc)."""
    name = (env.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")[0].strip().lower()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    )
    if protocol.strip().lower() == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            raise RuntimeError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the opentelemetry-exporter-otlp-proto-grpc package; "
                "s3d ships the http/protobuf exporter"
            ) from None
        return GrpcExporter()  # type: ignore[no-any-return]
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def from_env(role: str, env: dict[str, str] | None = None) -> Tracing:
    """A Tracing that exports as the OTEL_* environment says (batched, in a thread of this process)."""
    env = dict(os.environ) if env is None else env
    attrs: dict[str, Any] = {"s3d.role": role, "process.pid": os.getpid()}
    if not env.get("OTEL_SERVICE_NAME") and "service.name=" not in env.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        attrs["service.name"] = "s3d"
    provider = TracerProvider(resource=Resource.create(attrs))
    provider.add_span_processor(BatchSpanProcessor(exporter_from_env(env)))
    trace.set_tracer_provider(provider)
    return Tracing(provider)
