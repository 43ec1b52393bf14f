"""OpenTelemetry spans: a request span with children for store commits and remote calls; nothing without OTEL_*."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from s3d import observe
from s3d.observe.observer import S3dObserver
from s3d.observe.setup import tracing_configured
from s3d.observe.tracing import Tracing
from tests.conftest import client_for
from tests.observe.inprocess import InProcessS3d
from tests.support.remotes import RemoteServer
from tests.support.server import S3dProcess


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    obs = S3dObserver(tracing=Tracing(provider))
    observe.install(obs)
    yield exp
    observe.install(observe.Observer())
    provider.shutdown()


def request_span(spans: tuple[ReadableSpan, ...], rid: str) -> ReadableSpan:
    found = [s for s in spans if s.name == "s3.request" and s.attributes.get("s3d.request_id") == rid]  # type: ignore[union-attr]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    ctx = parent.get_span_context()
    return [
        s
        for s in spans
        if s.parent is not None and s.parent.span_id == ctx.span_id and s.context.trace_id == ctx.trace_id
    ]  # type: ignore[union-attr]


def test_request_span_has_store_and_remote_children(
    tmp_path: Path, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = RemoteServer("rclone", tmp_path / "remote").start()
    for k, v in remote.env().items():
        monkeypatch.setenv(k, v)
    rc = remote.client()
    rc.create_bucket(Bucket="traced")
    rc.put_object(Bucket="traced", Key="remote-only.txt", Body=b"from the remote")
    s3d = InProcessS3d(tmp_path / "data", remote_url=remote.url).start()
    try:
        s3 = client_for(s3d.endpoint, s3d.access_key, s3d.secret_key)
        s3.create_bucket(Bucket="traced")
        put = s3.put_object(Bucket="traced", Key="local.txt", Body=b"local bytes")
        got = s3.get_object(Bucket="traced", Key="remote-only.txt")
        assert got["Body"].read() == b"from the remote"
    finally:
        s3d.stop()
        remote.stop()
    spans = exporter.get_finished_spans()

    span = request_span(spans, put["ResponseMetadata"]["RequestId"])
    assert span.kind == SpanKind.SERVER and span.parent is None
    attrs = span.attributes or {}
    assert (attrs["s3d.operation"], attrs["http.response.status_code"], attrs["http.request.method"]) == (
        "PutObject",
        200,
        "PUT",
    )
    assert (attrs["aws.s3.bucket"], attrs["aws.s3.key"]) == ("traced", "local.txt")
    kids = children(spans, span)
    assert "store.commit" in [k.name for k in kids]
    assert not [k for k in kids if k.name.startswith("remote.")]  # a local write: nothing remote while serving it
    for k in kids:
        assert span.start_time <= k.start_time and k.end_time <= span.end_time  # type: ignore[operator]

    span = request_span(spans, got["ResponseMetadata"]["RequestId"])
    assert (span.attributes or {})["s3d.operation"] == "GetObject"
    assert (span.attributes or {})["s3d.remote_calls"] >= 1  # type: ignore[operator]
    kids = children(spans, span)
    names = [k.name for k in kids]
    remote_kids = [k for k in kids if k.name.startswith("remote.")]
    assert remote_kids, names
    assert all(k.kind == SpanKind.CLIENT for k in remote_kids)
    assert "store.commit" in names  # the remote object's row, remembered


class OtlpReceiver:
    """A minimal OTLP/HTTP trace receiver on loopback: decodes each POST /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                for rs in req.resource_spans:
                    for ss in rs.scope_spans:
                        receiver.spans.extend(ss.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _attr(span: Any, key: str) -> Any:
    for kv in span.attributes:
        if kv.key == key:
            return kv.value.string_value or kv.value.int_value
    return None


def test_daemon_exports_over_otlp(tmp_path: Path) -> None:
    receiver = OtlpReceiver()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}", "OTEL_BSP_SCHEDULE_DELAY": "100",
           "S3D_LOG_FORMAT": "json"}  # fmt: skip
    proc = S3dProcess(tmp_path / "data", workers=2, env_extra=env).start()
    try:
        s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
        s3.create_bucket(Bucket="otlp")
        rid = s3.put_object(Bucket="otlp", Key="k", Body=b"v")["ResponseMetadata"]["RequestId"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            req = [s for s in receiver.spans if s.name == "s3.request" and _attr(s, "s3d.request_id") == rid]
            if req and any(s.parent_span_id == req[0].span_id for s in receiver.spans):
                break
            time.sleep(0.1)
    finally:
        proc.stop()
        receiver.close()
    assert len(req) == 1
    span = req[0]
    assert _attr(span, "s3d.operation") == "PutObject"
    kids = [s for s in receiver.spans if s.parent_span_id == span.span_id]
    assert "store.commit" in [k.name for k in kids]
    assert all(k.trace_id == span.trace_id for k in kids)
    # the request's log line names its trace
    log = (tmp_path / f"s3d-{proc.port}.log").read_text().splitlines()
    line = [json.loads(ln) for ln in log if ln.startswith("{") and rid in ln]
    assert line and line[0]["trace_id"] == span.trace_id.hex()


ZERO_COST = """
import sys
from pathlib import Path
from s3d import observe
from s3d.config import Settings
from s3d.observe import setup
obs = setup.install(Settings(data=Path(sys.argv[1])), "worker")
assert observe.get() is obs
with obs.span("store.commit"):
    pass
print(obs.tracing is not None, any(m.startswith("opentelemetry") for m in sys.modules))
"""


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "False False"),
        ({"OTEL_SERVICE_NAME": "s3d-test"}, "False False"),  # naming the service is not asking for traces
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, "False False"),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, "False False"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "True True"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, "True True"),
    ],
)
def test_tracing_only_when_configured(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    """Without OTEL_* the SDK is never imported: the process that installs the observer has no opentelemetry module."""
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", ZERO_COST, str(tmp_path)], env={**clean, **env},
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == expected  # (a console exporter prints spans after it)
    assert tracing_configured(env) == (expected == "True True")
