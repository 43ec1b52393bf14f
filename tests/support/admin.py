"""Signed calls to s3d's /_s3d/* admin endpoints (SigV4, as the CLI sends them)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def admin(
    endpoint: str, access_key: str, secret_key: str, method: str, path: str, timeout: float = 120
) -> tuple[int, Any]:
    req = botocore.awsrequest.AWSRequest(
        method=method, url=endpoint + path, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(access_key, secret_key), "s3", "us-east-1").add_auth(req)
    r = urllib.request.Request(req.url, method=method, headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, body
