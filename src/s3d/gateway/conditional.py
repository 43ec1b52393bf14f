"""Does the remote honour conditional writes (``If-Match`` / ``If-None-Match`` on PUT)?

Conflict detection between daemons sharing a remote rests on them (shipper.py). A remote that ignores them
(``rclone serve s3``) cannot report a conflict: there the last writer wins, and status says so.

The probe is a PUT of an empty object under a fresh key with ``If-Match`` an ETag nothing can hold: a remote
that honours the condition refuses it (412, or 404 as AWS answers for a missing key) and nothing is written;
one that ignores it writes the object, which the probe deletes at once.
"""

from __future__ import annotations

import logging
import uuid

from s3d.remote import Piece, Remote, RemoteError, RemoteNotFound

log = logging.getLogger("s3d.gateway")

PROBE_PREFIX = ".s3d-probe-conditional-"
UNMATCHABLE_ETAG = "0" * 32  # no stored object has it: the MD5 of no content S3 would write as an ETag
PRECONDITION_FAILED = 412


async def honours_conditional_writes(remote: Remote, bucket: str) -> bool | None:
    """True or False; None when the probe could not tell (the remote refused it for another reason)."""
    key = PROBE_PREFIX + uuid.uuid4().hex
    try:
        await remote.put_object(bucket, key, [Piece(data=b"")], {}, None, if_match=UNMATCHABLE_ETAG)
    except RemoteNotFound:
        return True
    except RemoteError as e:
        return True if e.status == PRECONDITION_FAILED else None
    try:
        await remote.delete_object(bucket, key)
    except RemoteError as e:
        log.warning("could not delete the conditional-write probe %s/%s: %s", bucket, key, e)
    return False
