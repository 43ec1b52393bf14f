"""Property-based tests of the parsers that live inside the request path (the HTTP head, and the XML bodies
DeleteObjects and CreateBucket read in their handlers), against the shared live daemon: never a 5xx."""

from __future__ import annotations

import base64
import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.strategies import header_text, values, xml_bytes
from tests.support.rawhttp import call, send_raw
from tests.support.server import S3dProcess

STATUS = re.compile(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3}) ")
BUCKET = "fuzz-live"


def _md5(b: bytes) -> str:
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def _statuses(reply: bytes) -> list[int]:
    return [int(m.group(1)) for m in STATUS.finditer(reply)]


def _no_server_error(statuses: list[int]) -> None:
    assert all(s < 500 or s in (501, 503) for s in statuses), statuses


METHODS = st.sampled_from(["GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "CONNECT", "PRI", "G\x00T", ""])
targets = st.one_of(
    st.sampled_from(["/", f"/{BUCKET}", f"/{BUCKET}/k", "*", "/_s3d/status", "/metrics", "http://h/x", "/%", "//"]),
    st.builds(lambda p, q: f"/{BUCKET}/{p}?{q}", values, values),
)
header_lines = st.lists(
    st.builds(
        lambda k, v: f"{k}: {v}",
        st.one_of(
            st.sampled_from(["Host", "Content-Length", "Transfer-Encoding", "Expect", "Range", "Authorization",
                             "Connection", "Upgrade", "x-amz-date", "x-amz-content-sha256"]),
            header_text,
        ),
        st.one_of(values, header_text),
    ),
    max_size=8,
)  # fmt: skip


@given(
    METHODS,
    targets,
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", ""]),
    header_lines,
    st.binary(max_size=64),
)
def test_http_heads(server: S3dProcess, method: str, target: str, version: str, lines: list[str], body: bytes) -> None:
    head = "\r\n".join([f"{method} {target} {version}", *lines]) + "\r\n\r\n"
    reply = send_raw(server.port, head.encode("utf-8", "surrogatepass") + body, timeout=10)
    _no_server_error(_statuses(reply))


def _bucket(server: S3dProcess) -> None:
    assert call(server, "PUT", f"/{BUCKET}").status in (200, 409)


@given(xml_bytes)
def test_delete_objects_documents(server: S3dProcess, body: bytes) -> None:
    _bucket(server)
    r = call(server, "POST", f"/{BUCKET}", query="delete=", body=body, headers={"Content-MD5": _md5(body)})
    _no_server_error([r.status])


@given(xml_bytes, st.sampled_from(["fuzz-created", "Bad_Name", "fuzz-live"]))
def test_create_bucket_documents(server: S3dProcess, body: bytes, name: str) -> None:
    r = call(server, "PUT", f"/{name}", body=body)
    _no_server_error([r.status])
    if r.status == 200 and name != BUCKET:
        assert call(server, "DELETE", f"/{name}").status == 204
