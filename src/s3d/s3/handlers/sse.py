"""Server-side encryption request headers: refused until s3d encrypts.

The one place that decides what an SSE header on a request does. s3d stores
plaintext today, so any request asking for SSE-S3, SSE-KMS or SSE-C (or naming
the SSE-C key of a copy source) answers 501 NotImplemented instead of storing
the object unencrypted or serving an SSE-C object without its key.
"""

from __future__ import annotations

from s3d.s3.errors import S3Error

SSE_PREFIX = "x-amz-server-side-encryption"
COPY_SOURCE_SSE_C_PREFIX = "x-amz-copy-source-server-side-encryption-customer-"


def refuse_sse(headers: dict[str, str]) -> None:
    """NotImplemented if the request names any server-side encryption header."""
    for name in headers:
        if name.startswith((SSE_PREFIX, COPY_SOURCE_SSE_C_PREFIX)):
            raise S3Error(
                "NotImplemented",
                f"s3d does not encrypt objects: the {name} header is not implemented.",
                extra={"Header": name},
            )
