"""What a handler gets: the parsed S3 request plus the services it may call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from s3d.access import authorize
from s3d.s3.auth import Auth
from s3d.s3.errors import S3Error
from s3d.server.http import Request

if TYPE_CHECKING:
    from s3d.config import Settings, User
    from s3d.gateway.namespace import GatewayNamespace
    from s3d.store.buckets import Bucket
    from s3d.store.namespace import Namespace
    from s3d.store.store import Store


def parse_query(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if not raw:
        return out
    plain = "%" not in raw and "+" not in raw  # nothing to decode: skip unquote (the common case)
    for piece in raw.split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        if not plain:
            k, v = unquote_plus(k), unquote_plus(v)
        if k not in out:
            out[k] = v
    return out


@dataclass(slots=True)
class Ctx:
    req: Request
    store: Store  # what is the same in both modes: buckets, tags, listings, uploads
    ns: Namespace  # what differs: which object a read sees, where its bytes come from, room for writes
    gateway: GatewayNamespace | None  # gateway mode's extras (cache, prefetch), for the admin endpoints
    settings: Settings
    request_id: str
    query: dict[str, str]
    bucket: str | None = None
    key: str | None = None
    auth: Auth | None = None
    user: User | None = None
    operation: str = ""
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    granted: dict[str, Bucket] = field(default_factory=dict)  # buckets this request was authorized on

    @property
    def headers(self) -> dict[str, str]:
        return self.req.headers

    @property
    def key_bytes(self) -> bytes:
        assert self.key is not None
        return self.key.encode()

    @property
    def resource(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key is not None else f"/{self.bucket}"

    def need_bucket(self, name: str | None = None) -> Bucket:
        """The bucket this request names; NoSuchBucket or AccessDenied if the user may not see it."""
        name = name or self.bucket
        assert name is not None
        known = self.granted.get(name)  # looked up and authorized moments ago by this request
        return known if known is not None else self.check_bucket(name, self.store.get_bucket(name))

    def check_bucket(self, name: str, b: Bucket | None) -> Bucket:
        if b is None:
            raise S3Error("NoSuchBucket", resource=f"/{name}", extra={"BucketName": name})
        return authorize.check_named(self, name, b)
