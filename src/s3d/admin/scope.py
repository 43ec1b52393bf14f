"""What an admin API caller may see and act on: its own buckets, or everything for an admin user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from s3d.config import User
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error

BucketRow = dict[str, Any]


class Scope:
    """The buckets one caller of the admin API reaches."""

    def __init__(self, ctx: Ctx, user: User) -> None:
        self.ctx = ctx
        self.user = user

    @property
    def everything(self) -> bool:
        return self.user.admin

    def owned(self) -> list[str]:
        """The names of the buckets this caller reaches (every bucket, for an admin)."""
        owner = None if self.everything else self.user.name
        return [b.name for b in self.ctx.store.list_buckets(owner)]

    def need_bucket(self, name: str) -> None:
        """NoSuchBucket if it does not exist, AccessDenied if it is another user's (as on the S3 API)."""
        b = self.ctx.store.get_bucket(name)
        if b is None:
            raise S3Error("NoSuchBucket", resource=f"/{name}", extra={"BucketName": name})
        if not self.everything and b.owner != self.user.name:
            raise S3Error("AccessDenied", resource=f"/{name}")

    def keep(self, rows: Iterable[BucketRow]) -> list[BucketRow]:
        """The rows (dicts with a "bucket" or "name" field) about buckets this caller reaches."""
        rows = list(rows)
        if self.everything:
            return rows
        mine = set(self.owned())
        return [r for r in rows if r.get("bucket", r.get("name")) in mine]
