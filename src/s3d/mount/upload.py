"""PutObject of a staged file with sendfile(2): the kernel moves the bytes, Python only signs the request.

botocore signs the SHA-256 of every payload sent over plain HTTP (one more pass over the file) and writes the
body in 4 KiB pieces; for the mount's uploads, which are whole local files, that is most of the cost of a close.
Here the request is signed by botocore's own signer with an UNSIGNED-PAYLOAD hash, carries a CRC32C checksum of
the file that the daemon verifies before it stores anything, and its body goes out with socket.sendfile.
"""

from __future__ import annotations

import base64
import errno
import http.client
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from s3d.mount.errors import MountError

log = logging.getLogger("s3d.mount")
CHECKSUM_CHUNK = 4 * 1024 * 1024
REGION = "us-east-1"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
META_PREFIX = "x-amz-meta-"


def crc32c(path: Path) -> str:
    from awscrt import checksums

    crc = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHECKSUM_CHUNK):
            crc = checksums.crc32c(chunk, crc)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def put_file(client: Any, bucket: str, key: str, path: Path, size: int, meta: dict[str, str], timeout: float) -> str:
    """PUT the file as bucket/key through the client's endpoint and credentials; returns the ETag."""
    import botocore.auth
    import botocore.awsrequest
    from botocore.exceptions import ClientError

    endpoint = urlsplit(client.meta.endpoint_url)
    target = f"/{quote(bucket)}/{quote(key, safe='/~')}"
    headers = {
        "Content-Length": str(size),
        "x-amz-content-sha256": UNSIGNED_PAYLOAD,
        "x-amz-checksum-crc32c": crc32c(path),
        **{META_PREFIX + k: v for k, v in meta.items()},
    }
    request = botocore.awsrequest.AWSRequest(method="PUT", url=f"{client.meta.endpoint_url}{target}", headers=headers)
    credentials = client._request_signer._credentials.get_frozen_credentials()
    botocore.auth.SigV4Auth(credentials, "s3", REGION).add_auth(request)  # signs the declared hash as is
    connection_class = http.client.HTTPSConnection if endpoint.scheme == "https" else http.client.HTTPConnection
    conn = connection_class(endpoint.hostname or "", endpoint.port, timeout=timeout)
    try:
        conn.putrequest("PUT", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", endpoint.netloc)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            with open(path, "rb") as f:
                if size:
                    if endpoint.scheme == "https":
                        while chunk := f.read(CHECKSUM_CHUNK):
                            conn.sock.sendall(chunk)
                    else:
                        conn.sock.sendfile(f, 0, size)
        except OSError:
            pass  # the daemon may have answered before reading it all (507, 403...): its answer says why
        try:
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            log.error("PUT %s/%s: no answer from %s: %s", bucket, key, client.meta.endpoint_url, e)
            raise MountError(errno.EIO) from None
        if response.status != http.client.OK:
            code, message = _error(body, response.status)
            raise ClientError({"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": response.status}}, "PutObject")  # fmt: skip
        return response.getheader("ETag") or ""
    finally:
        conn.close()


def _error(body: bytes, status: int) -> tuple[str, str]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return str(status), body[:200].decode(errors="replace")
    return root.findtext("Code") or str(status), root.findtext("Message") or ""


__all__ = ["put_file"]
