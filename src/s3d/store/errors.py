"""What the store (and the gateway behind it) can answer besides success, in storage terms.

The S3 layer maps each of these to an S3 error in one place (``s3/store_errors.py``), as Swift's
s3api maps backend statuses; nothing under ``store/``, ``gateway/`` or ``remote/`` knows S3's codes
or HTTP statuses.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every outcome the store reports to its callers."""

    def __init__(self, message: str = "", *, bucket: str | None = None, key: bytes | None = None) -> None:
        super().__init__(message or type(self).__name__)
        self.message = message
        self.bucket = bucket
        self.key = key


class NoSuchBucket(StoreError):
    pass


class NoSuchKey(StoreError):
    pass


class NoSuchVersion(StoreError):
    """No version of that id (a tagging or read of one version)."""


class ObjectLocked(StoreError):
    """The version is under retention or a legal hold (object lock)."""


class BucketAlreadyExists(StoreError):
    """Another owner has a bucket of that name."""


class BucketAlreadyOwnedByYou(StoreError):
    pass


class BucketNotEmpty(StoreError):
    pass


class BucketStateConflict(StoreError):
    """A bucket configuration change its current configuration does not allow (the message says why)."""


class NotBucketOwner(StoreError):
    """A write that must land in the caller's own bucket found another owner's."""


class PreconditionFailed(StoreError):
    def __init__(self, condition: str, **kw: object) -> None:
        super().__init__(f"precondition {condition} failed")
        self.condition = condition


class NoSuchUpload(StoreError):
    def __init__(self, upload_id: str) -> None:
        super().__init__(f"no upload {upload_id}")
        self.upload_id = upload_id


class PartChanged(StoreError):
    """A part chosen for CompleteMultipartUpload was replaced or removed while completing."""

    def __init__(self, number: int) -> None:
        super().__init__(f"part {number} changed while completing")
        self.number = number


class InsufficientStorage(StoreError):
    """The local volume (or its metadata reserve) has no room for this write."""


class StorageIOError(StoreError):
    """The local volume failed a read or write (not a full disk)."""


class SlowDown(StoreError):
    """Local capacity is taken by data not yet shipped (or pinned): retry once the queue drains."""


class RemoteUnavailable(StoreError):
    """The bytes are only on the remote, and the remote cannot serve them now."""

    def __init__(self, remote_code: str) -> None:
        super().__init__(f"remote unavailable ({remote_code})")
        self.remote_code = remote_code


class ObjectChanged(StoreError):
    """The object's bytes changed while they were being opened: look it up again."""


class CommitError(StoreError):
    """A batch's transaction failed; ``settled`` is True when it certainly did not commit."""

    def __init__(self, message: str, settled: bool, disk_full: bool = False) -> None:
        super().__init__(message)
        self.settled = settled
        self.disk_full = disk_full


class CommitDiskFull(CommitError, InsufficientStorage):
    """The batch's transaction failed because the metadata store's disk is full."""

    def __init__(self, message: str, settled: bool) -> None:
        super().__init__(message, settled, disk_full=True)


class DataUnavailable(StoreError):
    """An erasure-coded blob lost more shards than parity can rebuild: its bytes cannot be served."""
