"""What an admin API caller may see and act on: its own buckets, or everything for an admin user."""

from __future__ import annotations

from s3d.admin.common import require_user
from s3d.config import User
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.store.store import Bucket


class Scope:
    """The buckets one caller of the admin API reaches."""

    def __init__(self, ctx: Ctx, user: User) -> None:
        self.ctx = ctx
        self.user = user

    @property
    def everything(self) -> bool:
        return self.user.admin

    @property
    def owner(self) -> str | None:
        """The owner whose buckets this caller reaches; None for an admin (every owner)."""
        return None if self.everything else self.user.name

    def buckets(self) -> set[str] | None:
        """The names of the buckets this caller reaches; None for an admin (every bucket)."""
        if self.everything:
            return None
        return {b.name for b in self.ctx.store.list_buckets(self.user.name)}

    def need_bucket(self, name: str) -> Bucket:
        """The bucket; NoSuchBucket if it does not exist, AccessDenied if it is another user's (as on the S3 API)."""
        b = self.ctx.store.get_bucket(name)
        if b is None:
            raise S3Error("NoSuchBucket", resource=f"/{name}", extra={"BucketName": name})
        if not self.everything and b.owner != self.user.name:
            raise S3Error("AccessDenied", resource=f"/{name}")
        return b


def caller_scope(ctx: Ctx) -> Scope:
    """Authenticate an admin request (SigV4) and say what its user reaches."""
    require_user(ctx)
    assert ctx.auth is not None
    ctx.user = next(u for u in ctx.settings.users if u.access_key == ctx.auth.access_key)
    return Scope(ctx, ctx.user)
