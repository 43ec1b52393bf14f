"""The mount's own SigV4 signer gives the Authorization botocore's S3 signer gives for the same request."""

from __future__ import annotations

import datetime
from unittest import mock
from urllib.parse import quote, urlencode

import botocore.auth
import botocore.awsrequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.mount.http import UNSIGNED_PAYLOAD, _target, sigv4_headers

NOW = datetime.datetime(2026, 12, 5, 15, 4, 5)
HOST = "127.0.0.1:9000"
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
HEADER = st.sampled_from(["x-amz-meta-mtime", "x-amz-meta-mode", "Range", "If-Match", "Content-Length"])


def botocore_authorization(method: str, target: str, headers: dict[str, str], creds: Credentials, region: str) -> str:
    request = botocore.awsrequest.AWSRequest(method=method, url=f"http://{HOST}{target}", headers=headers)
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})  # UNSIGNED-PAYLOAD, as sent
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: NOW):  # its clock, stopped
        botocore.auth.S3SigV4Auth(creds, "s3", region).add_auth(request)
    return str(request.headers["Authorization"])


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD"]),
    key=TEXT,
    query=st.dictionaries(st.sampled_from(["prefix", "delimiter", "list-type", "uploadId", "max-keys"]), VALUE),
    extra=st.dictionaries(HEADER, VALUE.map(str.strip).filter(bool)),
    token=st.none() | st.just("session-token/x+y="),
)
def test_signature_matches_botocore(
    method: str,
    key: str,
    query: dict[str, str],
    extra: dict[str, str],
    token: str | None,
) -> None:
    target = _target("bucket", key) + (
        "?" + urlencode(sorted(query.items()), quote_via=quote, safe="-_.~") if query else ""
    )
    headers = {"x-amz-content-sha256": UNSIGNED_PAYLOAD, **extra}
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    ours = sigv4_headers(
        method,
        HOST,
        target,
        headers,
        creds.get_frozen_credentials(),
        "us-east-1",
        NOW.replace(tzinfo=datetime.UTC).timestamp(),
    )
    assert ours["Authorization"] == botocore_authorization(method, target, headers, creds, "us-east-1")
    assert ours["X-Amz-Date"] == "20261205T150405Z"
