"""Settings of a remote S3 endpoint (no botocore here: reading settings must stay cheap)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

REMOTE_SSE_S3 = "AES256"
REMOTE_SSE_KMS = "aws:kms"
REMOTE_SSE_KINDS = (REMOTE_SSE_S3, REMOTE_SSE_KMS)


class ConfigError(ValueError):
    """The remote settings cannot work; the message says why in one line."""


@dataclass(slots=True)
class RemoteSettings:
    url: str
    region: str = "us-east-1"
    path_style: bool = True
    bucket_prefix: str = ""
    bucket_map: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    concurrency: int = 32  # requests in flight (the shipper's keys, and parts of a multipart object)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    sse: str | None = None  # ask the remote to encrypt what s3d ships with its own SSE: AES256 or aws:kms
    sse_kms_key_id: str | None = None  # with aws:kms: the remote's KMS key (else the remote's default key)

    def validate(self) -> None:
        u = urlparse(self.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(f"remote URL must be http(s)://host[:port], got {self.url!r}")
        try:
            u.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ConfigError(f"remote URL has a bad port: {self.url!r}") from None
        if not self.region or not all(c.isalnum() or c == "-" for c in self.region):
            raise ConfigError(f"remote region is not valid: {self.region!r}")
        if self.sse is not None and self.sse not in REMOTE_SSE_KINDS:
            raise ConfigError(f"remote_sse must be one of {', '.join(REMOTE_SSE_KINDS)}, got {self.sse!r}")
        if self.sse_kms_key_id and self.sse != REMOTE_SSE_KMS:
            raise ConfigError(f"remote_sse_kms_key_id needs remote_sse = {REMOTE_SSE_KMS!r}")

    def local_name(self, remote_bucket: str) -> str | None:
        """The local bucket a remote bucket stands for (prefix and map undone); None if it is not one of ours."""
        for local, mapped in self.bucket_map.items():
            if mapped == remote_bucket:
                return local
        if self.bucket_prefix:
            return remote_bucket[len(self.bucket_prefix) :] if remote_bucket.startswith(self.bucket_prefix) else None
        return remote_bucket
