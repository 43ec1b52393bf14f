"""S3 errors and transport failures as errno values: the one place the mount decides what a caller sees."""

from __future__ import annotations

import errno
import logging

log = logging.getLogger("s3d.mount")

ERRNO_BY_CODE: dict[str, int] = {
    "NoSuchKey": errno.ENOENT,
    "NotFound": errno.ENOENT,
    "404": errno.ENOENT,
    "AccessDenied": errno.EACCES,
    "403": errno.EACCES,
    "InsufficientStorage": errno.ENOSPC,
    "507": errno.ENOSPC,
    "KeyTooLongError": errno.ENAMETOOLONG,
    "EntityTooLarge": errno.EFBIG,
}
EXPECTED = {errno.ENOENT}  # answers a filesystem gives all the time: not worth a log line


class MountError(OSError):
    """An OSError carrying the errno the kernel is answered with."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail or errno.errorcode.get(code, str(code)))


def to_errno(e: BaseException, what: str) -> int:
    """The errno for a failed S3 call; anything not mapped is EIO, with a log line saying what failed."""
    from botocore.exceptions import ClientError

    if isinstance(e, MountError):
        return e.errno or errno.EIO
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        status = str(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        code = str(err.get("Code") or status)
        mapped = ERRNO_BY_CODE.get(code) or ERRNO_BY_CODE.get(status)
        if mapped is not None:
            if mapped not in EXPECTED:
                log.info("%s: %s (%s)", what, code, errno.errorcode[mapped])
            return mapped
        log.error("%s: S3 error %s %s: %s", what, status, code, err.get("Message", ""))
        return errno.EIO
    log.error("%s: %s: %s", what, type(e).__name__, e)
    return errno.EIO


def as_oserror(e: BaseException, what: str) -> MountError:
    return e if isinstance(e, MountError) else MountError(to_errno(e, what), f"{what}: {e}")
