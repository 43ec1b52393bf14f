"""Log lines: one structured line per request (JSON with S3D_LOG_FORMAT=json, human otherwise); no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import client_for
from tests.observe.scrape import fetch
from tests.support.admin import admin
from tests.support.server import S3dProcess

TOKEN = "metrics-bearer-token-0123456789"
FIELDS = {"request_id", "operation", "method", "bucket", "key", "status", "error_code", "bytes_in", "bytes_out",
          "duration_ms", "remote_calls", "client"}  # fmt: skip


def log_path(proc: S3dProcess) -> Path:
    return proc.data.parent / f"s3d-{proc.port}.log"


def lines_with(proc: S3dProcess, needle: str, timeout: float = 10.0) -> list[str]:
    """Log lines containing needle; a request's line is written once its response has gone out, so wait."""
    deadline = time.monotonic() + timeout
    while True:
        found = [ln for ln in log_path(proc).read_text().splitlines() if needle in ln]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def json_lines(proc: S3dProcess) -> list[dict[str, Any]]:
    out = []
    for line in log_path(proc).read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
        else:  # the only plain lines are the daemon's own prints (listening, queue drained...)
            assert line.startswith("s3d"), line
    return out


def by_request_id(proc: S3dProcess, rid: str) -> dict[str, Any]:
    lines_with(proc, rid)  # written once the response has gone out
    found = [d for d in json_lines(proc) if d.get("request_id") == rid and d["logger"] == "s3d.request"]
    assert len(found) == 1, (rid, found)
    return found[0]


def http(method: str, url: str, data: bytes | None = None) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers["x-amz-request-id"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["x-amz-request-id"], e.read()


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    data = tmp_path_factory.mktemp("s3d-json") / "data"
    env = {"S3D_LOG_FORMAT": "json", "S3D_LOG_LEVEL": "debug", "S3D_METRICS_TOKEN": TOKEN}
    proc = S3dProcess(data, workers=2, env_extra=env).start()
    yield proc
    proc.stop()


def test_json_request_lines(json_server: S3dProcess) -> None:
    s3 = client_for(json_server.endpoint, json_server.access_key, json_server.secret_key)
    s3.create_bucket(Bucket="logs")
    r = s3.put_object(Bucket="logs", Key="dir/a b.txt", Body=b"hello world")
    line = by_request_id(json_server, r["ResponseMetadata"]["RequestId"])
    assert FIELDS <= set(line)
    assert line["level"] == "info" and line["time"].endswith("Z")
    assert (line["operation"], line["method"], line["bucket"], line["key"]) == (
        "PutObject",
        "PUT",
        "logs",
        "dir/a b.txt",
    )
    assert (line["status"], line["error_code"], line["bytes_out"], line["remote_calls"]) == (200, None, 0, 0)
    assert line["bytes_in"] >= len(b"hello world")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["client"] == "127.0.0.1"

    r = s3.get_object(Bucket="logs", Key="dir/a b.txt")
    assert r["Body"].read() == b"hello world"
    line = by_request_id(json_server, r["ResponseMetadata"]["RequestId"])
    assert (line["operation"], line["status"], line["bytes_out"]) == ("GetObject", 200, len(b"hello world"))

    status, rid, _ = http("GET", json_server.endpoint + "/logs/missing")
    assert status == 403  # unsigned
    line = by_request_id(json_server, rid)
    assert (line["operation"], line["status"], line["error_code"]) == ("GetObject", 403, "AccessDenied")
    with pytest.raises(s3.exceptions.NoSuchKey) as e:
        s3.get_object(Bucket="logs", Key="missing")
    line = by_request_id(json_server, e.value.response["ResponseMetadata"]["RequestId"])
    assert (line["status"], line["error_code"], line["key"]) == (404, "NoSuchKey", "missing")


def test_no_secrets_in_logs(json_server: S3dProcess) -> None:
    s3 = client_for(json_server.endpoint, json_server.access_key, json_server.secret_key)
    signatures: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        auth = request.headers.get("Authorization")
        if auth:
            signatures.append(
                re.search(r"Signature=([0-9a-f]+)", auth.decode() if isinstance(auth, bytes) else auth).group(1)
            )  # type: ignore[union-attr]

    s3.meta.events.register("before-send.s3", capture)
    s3.create_bucket(Bucket="secrets")
    s3.put_object(Bucket="secrets", Key="k", Body=b"data")
    s3.get_object(Bucket="secrets", Key="k")["Body"].read()
    s3.list_objects_v2(Bucket="secrets")
    assert len(signatures) == 4

    # presigned (SigV4 query) GET and PUT, and one with a broken signature
    v4 = client_for(json_server.endpoint, json_server.access_key, json_server.secret_key, signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "secrets", "Key": "k"}, ExpiresIn=300)
    put_url = v4.generate_presigned_url("put_object", Params={"Bucket": "secrets", "Key": "p"}, ExpiresIn=300)
    for u in (url, put_url):
        signatures.append(re.search(r"X-Amz-Signature=([0-9a-f]+)", u).group(1))  # type: ignore[union-attr]
    assert http("GET", url)[0] == 200
    assert http("PUT", put_url, b"presigned body")[0] == 200
    bad = url.replace(signatures[-2], "0" * 64)
    assert http("GET", bad)[0] == 403
    bad_sig = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "ab" * 32, url)
    signatures.append("ab" * 32)
    assert http("GET", bad_sig)[0] == 403

    # SigV2 presigned (Signature=<base64> in the query)
    v2 = client_for(json_server.endpoint, json_server.access_key, json_server.secret_key, signature_version="s3")
    v2_url = v2.generate_presigned_url("get_object", Params={"Bucket": "secrets", "Key": "k"}, ExpiresIn=300)
    v2_sig = urllib.parse.unquote(re.search(r"Signature=([^&]+)", v2_url).group(1))  # type: ignore[union-attr]
    http("GET", v2_url)

    # the signed admin API and the token-protected /metrics
    assert admin(json_server.endpoint, json_server.access_key, json_server.secret_key, "GET", "/_s3d/status")[0] == 200
    assert fetch(json_server.endpoint)[0] == 403
    assert fetch(json_server.endpoint, token=TOKEN)[0] == 200

    text = log_path(json_server).read_text()
    assert json_server.secret_key not in text
    assert TOKEN not in text
    assert "AWS4-HMAC-SHA256 Credential" not in text
    for sig in signatures:
        assert sig not in text
    assert v2_sig not in text and urllib.parse.quote(v2_sig, safe="") not in text
    # ...while the requests themselves are logged
    lines = json_lines(json_server)
    assert sum(1 for d in lines if d.get("bucket") == "secrets") >= 8


def test_human_lines_by_default(server: S3dProcess, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    r = s3.put_object(Bucket=bucket, Key="human.txt", Body=b"abc")
    rid = r["ResponseMetadata"]["RequestId"]
    lines = lines_with(server, f"id={rid}")
    assert len(lines) == 1, lines
    line = lines[0]
    assert not line.startswith("{")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO +request PutObject 200 ", line), line
    assert f" {bucket}/human.txt " in line and " client=127.0.0.1 " in line
    assert server.secret_key not in log_path(server).read_text()


def test_events_are_logged_counted_and_redacted() -> None:
    """In-process: event() writes a line with its fields (secret-looking ones masked) and moves its counters."""
    from s3d.observe import logs, metrics
    from s3d.observe.observer import S3dObserver
    from s3d.observe.redact import Redactor

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure("info", "json", Redactor(["the-configured-secret"]), stream=stream)
        obs = S3dObserver(metrics.get())
        before = _counters(metrics.get())
        obs.event("ship_retry", "warning", bucket="b", key="k", error_code="SlowDown", attempt=2, secret_key="x")
        obs.event("cache_evict", "warning", entries=3, bytes=4096)
        obs.event("cache_hit", "debug", bucket="b", key="k")  # below the level: counted, not logged
        logging.getLogger("s3d.test").warning("oops the-configured-secret Signature=%s", "f" * 64)
        after = _counters(metrics.get())
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(ln) for ln in stream.getvalue().splitlines()]
    assert len(lines) == 3
    retry, evict, other = lines
    assert retry["level"] == "warning" and retry["logger"] == "s3d.event" and retry["event"] == "ship_retry"
    assert (retry["bucket"], retry["key"], retry["error_code"], retry["attempt"]) == ("b", "k", "SlowDown", 2)
    assert retry["secret_key"] == "***"
    assert (evict["event"], evict["entries"], evict["bytes"]) == ("cache_evict", 3, 4096)
    assert "the-configured-secret" not in other["msg"] and "f" * 64 not in other["msg"]
    assert after["s3d_cache_evictions_total"] - before["s3d_cache_evictions_total"] == 3
    assert after["s3d_cache_evicted_bytes_total"] - before["s3d_cache_evicted_bytes_total"] == 4096
    assert after["s3d_cache_hits_total"] - before["s3d_cache_hits_total"] == 1
    assert after['s3d_events_total{event="ship_retry"}'] - before.get('s3d_events_total{event="ship_retry"}', 0) == 1


def _counters(m: Any) -> dict[str, float]:
    from prometheus_client import generate_latest

    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(generate_latest(m.registry).decode()):
        for s in fam.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[s.name + (f"{{{labels}}}" if labels else "")] = s.value
    return out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_level_and_terminal_colours() -> None:
    """In-process: S3D_LOG_LEVEL=warning keeps only failing requests; a terminal gets coloured levels."""
    from s3d.observe import RequestRecord, logs
    from s3d.observe.observer import S3dObserver
    from s3d.observe.redact import Redactor

    def record(status: int, code: str | None) -> RequestRecord:
        return RequestRecord("RID1", "GetObject", "GET", "b", "k", status, code, 0, 10, 0.002, 1, "127.0.0.1")

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        plain, tty = io.StringIO(), Terminal()
        logs.configure("warning", "human", Redactor(), stream=plain)
        S3dObserver().request_done(record(200, None))
        S3dObserver().request_done(record(503, "SlowDown"))
        logs.configure("info", "human", Redactor(), stream=tty)
        S3dObserver().request_done(record(200, None))
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = plain.getvalue().splitlines()
    assert len(lines) == 1 and " WARNING request GetObject 503 SlowDown b/k " in lines[0], lines
    assert "\x1b[" not in lines[0] and " remote=1 " in lines[0]
    assert "\x1b[32mINFO" in tty.getvalue() and "request GetObject 200 b/k" in tty.getvalue()
