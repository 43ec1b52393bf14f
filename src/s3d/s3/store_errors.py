"""The one place where the store's outcomes become S3 errors (as Swift's s3api maps backend statuses)."""

from __future__ import annotations

from collections.abc import Callable

from s3d.s3.errors import S3Error
from s3d.store import errors as st


def _bucket(code: str) -> Callable[[st.StoreError], S3Error]:
    def make(e: st.StoreError) -> S3Error:
        name = e.bucket or ""
        return S3Error(code, resource=f"/{name}" if name else "", extra={"BucketName": name} if name else None)

    return make


def _no_such_key(e: st.StoreError) -> S3Error:
    key = e.key.decode(errors="replace") if e.key is not None else None
    return S3Error("NoSuchKey", extra={"Key": key} if key is not None else None)


def _precondition(e: st.StoreError) -> S3Error:
    assert isinstance(e, st.PreconditionFailed)
    return S3Error("PreconditionFailed", extra={"Condition": e.condition})


def _no_upload(e: st.StoreError) -> S3Error:
    assert isinstance(e, st.NoSuchUpload)
    return S3Error("NoSuchUpload", extra={"UploadId": e.upload_id})


def _part_changed(e: st.StoreError) -> S3Error:
    assert isinstance(e, st.PartChanged)
    return S3Error("InvalidPart", extra={"PartNumber": str(e.number)})


def _commit(e: st.StoreError) -> S3Error:
    assert isinstance(e, st.CommitError)
    if e.disk_full:
        return S3Error("InsufficientStorage")
    return S3Error("InternalError", e.message)


def _remote(e: st.StoreError) -> S3Error:
    assert isinstance(e, st.RemoteUnavailable)
    return S3Error(
        "ServiceUnavailable",
        f"The object is not held locally and the remote S3 cannot serve it now ({e.remote_code}). Retry later.",
        status=503,
    )


def _slow_down(e: st.StoreError) -> S3Error:
    return S3Error("SlowDown", e.message or None, headers=[("Retry-After", "1")])


MAPPING: dict[type[st.StoreError], Callable[[st.StoreError], S3Error]] = {
    st.NoSuchBucket: _bucket("NoSuchBucket"),
    st.BucketAlreadyExists: _bucket("BucketAlreadyExists"),
    st.BucketAlreadyOwnedByYou: _bucket("BucketAlreadyOwnedByYou"),
    st.BucketNotEmpty: _bucket("BucketNotEmpty"),
    st.BucketStateConflict: lambda e: S3Error("InvalidBucketState", e.message, resource=f"/{e.bucket or ''}"),
    st.NotBucketOwner: lambda e: S3Error("AccessDenied", resource=f"/{e.bucket or ''}"),
    st.NoSuchKey: _no_such_key,
    st.NoSuchVersion: lambda e: S3Error("NoSuchVersion"),
    st.ObjectLocked: lambda e: S3Error(
        "AccessDenied", f"Access Denied because object protected by object lock ({e.message})."
    ),
    st.PreconditionFailed: _precondition,
    st.NoSuchUpload: _no_upload,
    st.PartChanged: _part_changed,
    st.InsufficientStorage: lambda e: S3Error("InsufficientStorage"),
    st.StorageIOError: lambda e: S3Error("InternalError", e.message or None),
    st.DataUnavailable: lambda e: S3Error("InternalError", e.message or None),
    st.SlowDown: _slow_down,
    st.RemoteUnavailable: _remote,
    st.ObjectChanged: lambda e: S3Error("InternalError", "the object changed too often while being read"),
    st.CommitError: _commit,
}


def to_s3(e: st.StoreError) -> S3Error:
    for cls in type(e).__mro__:
        make = MAPPING.get(cls)
        if make is not None:
            return make(e)
    return S3Error("InternalError", str(e))
