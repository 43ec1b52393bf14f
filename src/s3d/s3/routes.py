"""Every S3 operation, how a request is recognised as it, and whether s3d implements it.

This table is the only place routing is decided; docs/compatibility.md is
generated from it (``python -m s3d.s3.routes``), so the two cannot drift.
A route is (method, level, subresource): level is service, bucket or object;
subresource is the query parameter that selects the operation, or a header
condition written as ``header:NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    method: str
    level: str  # "service" | "bucket" | "object"
    selector: str | None = None  # query parameter, or "header:name", or None for the plain resource


_B, _O = "bucket", "object"
ROUTES: tuple[Route, ...] = (
    Route("ListBuckets", "GET", "service"),
    # bucket level, most specific first
    Route("GetBucketLocation", "GET", _B, "location"),
    Route("ListObjectsV2", "GET", _B, "list-type"),
    Route("ListObjectVersions", "GET", _B, "versions"),
    Route("ListMultipartUploads", "GET", _B, "uploads"),
    Route("GetBucketTagging", "GET", _B, "tagging"),
    Route("PutBucketTagging", "PUT", _B, "tagging"),
    Route("DeleteBucketTagging", "DELETE", _B, "tagging"),
    Route("GetBucketCors", "GET", _B, "cors"),
    Route("PutBucketCors", "PUT", _B, "cors"),
    Route("DeleteBucketCors", "DELETE", _B, "cors"),
    Route("GetBucketVersioning", "GET", _B, "versioning"),
    Route("PutBucketVersioning", "PUT", _B, "versioning"),
    Route("GetBucketAcl", "GET", _B, "acl"),
    Route("PutBucketAcl", "PUT", _B, "acl"),
    Route("GetBucketPolicy", "GET", _B, "policy"),
    Route("PutBucketPolicy", "PUT", _B, "policy"),
    Route("DeleteBucketPolicy", "DELETE", _B, "policy"),
    Route("GetBucketPolicyStatus", "GET", _B, "policyStatus"),
    Route("GetBucketLifecycleConfiguration", "GET", _B, "lifecycle"),
    Route("PutBucketLifecycleConfiguration", "PUT", _B, "lifecycle"),
    Route("DeleteBucketLifecycle", "DELETE", _B, "lifecycle"),
    Route("GetBucketWebsite", "GET", _B, "website"),
    Route("PutBucketWebsite", "PUT", _B, "website"),
    Route("DeleteBucketWebsite", "DELETE", _B, "website"),
    Route("GetBucketLogging", "GET", _B, "logging"),
    Route("PutBucketLogging", "PUT", _B, "logging"),
    Route("GetBucketNotificationConfiguration", "GET", _B, "notification"),
    Route("PutBucketNotificationConfiguration", "PUT", _B, "notification"),
    Route("GetBucketReplication", "GET", _B, "replication"),
    Route("PutBucketReplication", "PUT", _B, "replication"),
    Route("DeleteBucketReplication", "DELETE", _B, "replication"),
    Route("GetBucketEncryption", "GET", _B, "encryption"),
    Route("PutBucketEncryption", "PUT", _B, "encryption"),
    Route("DeleteBucketEncryption", "DELETE", _B, "encryption"),
    Route("GetObjectLockConfiguration", "GET", _B, "object-lock"),
    Route("PutObjectLockConfiguration", "PUT", _B, "object-lock"),
    Route("GetBucketAccelerateConfiguration", "GET", _B, "accelerate"),
    Route("PutBucketAccelerateConfiguration", "PUT", _B, "accelerate"),
    Route("GetBucketRequestPayment", "GET", _B, "requestPayment"),
    Route("PutBucketRequestPayment", "PUT", _B, "requestPayment"),
    Route("GetBucketOwnershipControls", "GET", _B, "ownershipControls"),
    Route("PutBucketOwnershipControls", "PUT", _B, "ownershipControls"),
    Route("DeleteBucketOwnershipControls", "DELETE", _B, "ownershipControls"),
    Route("GetPublicAccessBlock", "GET", _B, "publicAccessBlock"),
    Route("PutPublicAccessBlock", "PUT", _B, "publicAccessBlock"),
    Route("DeletePublicAccessBlock", "DELETE", _B, "publicAccessBlock"),
    Route("ListBucketIntelligentTieringConfigurations", "GET", _B, "intelligent-tiering"),
    Route("PutBucketIntelligentTieringConfiguration", "PUT", _B, "intelligent-tiering"),
    Route("DeleteBucketIntelligentTieringConfiguration", "DELETE", _B, "intelligent-tiering"),
    Route("ListBucketAnalyticsConfigurations", "GET", _B, "analytics"),
    Route("PutBucketAnalyticsConfiguration", "PUT", _B, "analytics"),
    Route("DeleteBucketAnalyticsConfiguration", "DELETE", _B, "analytics"),
    Route("ListBucketMetricsConfigurations", "GET", _B, "metrics"),
    Route("PutBucketMetricsConfiguration", "PUT", _B, "metrics"),
    Route("DeleteBucketMetricsConfiguration", "DELETE", _B, "metrics"),
    Route("ListBucketInventoryConfigurations", "GET", _B, "inventory"),
    Route("PutBucketInventoryConfiguration", "PUT", _B, "inventory"),
    Route("DeleteBucketInventoryConfiguration", "DELETE", _B, "inventory"),
    Route("CreateSession", "GET", _B, "session"),
    Route("DeleteObjects", "POST", _B, "delete"),
    Route("ListObjects", "GET", _B),
    Route("CreateBucket", "PUT", _B),
    Route("DeleteBucket", "DELETE", _B),
    Route("HeadBucket", "HEAD", _B),
    Route("PostObject", "POST", _B),
    Route("PreflightBucket", "OPTIONS", _B),
    # object level
    Route("CreateMultipartUpload", "POST", _O, "uploads"),
    Route("CompleteMultipartUpload", "POST", _O, "uploadId"),
    Route("UploadPartCopy", "PUT", _O, "uploadId+header:x-amz-copy-source"),
    Route("UploadPart", "PUT", _O, "uploadId"),
    Route("ListParts", "GET", _O, "uploadId"),
    Route("AbortMultipartUpload", "DELETE", _O, "uploadId"),
    Route("GetObjectTagging", "GET", _O, "tagging"),
    Route("PutObjectTagging", "PUT", _O, "tagging"),
    Route("DeleteObjectTagging", "DELETE", _O, "tagging"),
    Route("GetObjectAttributes", "GET", _O, "attributes"),
    Route("GetObjectAcl", "GET", _O, "acl"),
    Route("PutObjectAcl", "PUT", _O, "acl"),
    Route("GetObjectRetention", "GET", _O, "retention"),
    Route("PutObjectRetention", "PUT", _O, "retention"),
    Route("GetObjectLegalHold", "GET", _O, "legal-hold"),
    Route("PutObjectLegalHold", "PUT", _O, "legal-hold"),
    Route("GetObjectTorrent", "GET", _O, "torrent"),
    Route("RestoreObject", "POST", _O, "restore"),
    Route("SelectObjectContent", "POST", _O, "select"),
    Route("RenameObject", "PUT", _O, "renameObject"),
    Route("CopyObject", "PUT", _O, "header:x-amz-copy-source"),
    Route("PutObject", "PUT", _O),
    Route("GetObject", "GET", _O),
    Route("HeadObject", "HEAD", _O),
    Route("DeleteObject", "DELETE", _O),
    Route("PreflightObject", "OPTIONS", _O),
)

# CORS preflight requests carry no credentials: the bucket's CORS rules answer them.
PREFLIGHT = frozenset({"PreflightBucket", "PreflightObject"})

_BY_METHOD_LEVEL: dict[tuple[str, str], list[Route]] = {}
for _r in ROUTES:
    _BY_METHOD_LEVEL.setdefault((_r.method, _r.level), []).append(_r)


def _matches(selector: str, query: dict[str, str], headers: dict[str, str]) -> bool:
    for cond in selector.split("+"):
        if cond.startswith("header:"):
            if cond[7:] not in headers:
                return False
        elif cond not in query:
            return False
    return True


def match(method: str, level: str, query: dict[str, str], headers: dict[str, str]) -> str | None:
    """The operation a request names, or None if no route fits (MethodNotAllowed)."""
    for r in _BY_METHOD_LEVEL.get((method, level), ()):
        if r.selector is None or _matches(r.selector, query, headers):
            return r.operation
    return None


NOTES = {
    "ListObjectVersions": "versions and delete markers; see docs/versioning.md.",
    "PostObject": "browser uploads with a SigV4- or SigV2-signed policy document, or anonymous where a policy or ACL allows.",
    "PutBucketPolicy": "validated and enforced (docs/security.md).",
    "PutBucketAcl": "enforced when ObjectOwnership enables ACLs (default BucketOwnerEnforced: AccessControlListNotSupported).",
    "PutObjectAcl": "enforced when ObjectOwnership enables ACLs (default BucketOwnerEnforced: AccessControlListNotSupported).",
    "PutPublicAccessBlock": "enforced; new buckets block public access, as at AWS.",
    "CreateSession": "S3 Express One Zone only.",
    "PutObject": "a key with a character XML 1.0 cannot carry (U+0001-U+001F but tab, LF and CR; U+FFFE, U+FFFF), which no listing could name, is refused with 400 InvalidArgument (AWS stores it); so on every operation that names a key.",
    "CreateBucket": "CreateBucketConfiguration: LocationConstraint (a region name, or EU for eu-west-1; another: 400 InvalidLocationConstraint); Location and Bucket (directory buckets) and Tags: 501.",
    "PreflightBucket": "CORS preflight (OPTIONS), answered from the bucket's CORS rules.",
    "PreflightObject": "CORS preflight (OPTIONS), answered from the bucket's CORS rules.",
    "PutBucketEncryption": "SSE-S3 and SSE-KMS (a local keyring); aws:kms:dsse and BlockedEncryptionTypes are 501. See docs/encryption.md.",
    "PutBucketLifecycleConfiguration": "Expiration, NoncurrentVersionExpiration, AbortIncompleteMultipartUpload; Transition and NoncurrentVersionTransition are 501 (one storage class). See docs/versioning.md.",
    "PutObjectLockConfiguration": "DefaultEventHold is 501 (event holds).",
    "PutObjectRetention": "EventHold and EventHoldDuration are 501 (event holds).",
    "CompleteMultipartUpload": "a part's ChecksumSHA512, ChecksumMD5 and ChecksumXXHASH* are 501, as those checksum headers are.",
    "SelectObjectContent": "S3 Select SQL over CSV, JSON and Parquet, run by DuckDB (docs/select.md); 501 for a CSV RecordDelimiter other than \\n, \\r\\n or \\r and for ScanRange on Parquet.",
}


EXTENSIONS = (  # (header, direction, operations, what it does): s3d's own, not S3's
    (
        "x-s3d-local-read",
        "request: `1`; answer: the files",
        "GetObject, HeadObject",
        "asked by a mount beside the daemon: the answer names the object's blob files (absolute path, length; "
        "only from a loopback address, for plain unencrypted blobs); docs/mount.md",
    ),
    (
        "x-s3d-cache",
        "answer",
        "GetObject, HeadObject",
        "gateway mode: how the read was served (hit, miss, partial, stale, bypass); README.md",
    ),
)


def _table(rows: tuple[tuple[str, str], ...]) -> list[str]:
    return ["| request | s3d |", "|---|---|", *(f"| {what} | {how} |" for what, how in rows), ""]


def compatibility_markdown() -> str:
    """docs/compatibility.md, generated from ROUTES and the handler table."""
    from s3d import user_metadata
    from s3d.s3 import payload, surface
    from s3d.s3.handlers import HANDLERS

    lines = [
        "# S3 compatibility",
        "",
        "Generated from `src/s3d/s3/routes.py` by `python -m s3d.s3.routes > docs/compatibility.md`;",
        "a test fails if this file and the code disagree. Operations marked 501 answer",
        "`501 NotImplemented` with an S3 XML error. A request document (XML body) is held to the shape",
        "S3's schema gives it: an element the schema lacks, or a second copy of one it does not repeat,",
        "is `400 MalformedXML` (`MalformedACLError` for an ACL); elements noted 501 below are refused.",
        "",
        "| operation | request | status | note |",
        "|---|---|---|---|",
    ]
    for r in sorted(ROUTES, key=lambda r: r.operation):
        where = {"service": "/", "bucket": "/bucket", "object": "/bucket/key"}[r.level]
        sel = ""
        if r.selector:
            sel = " ".join(f"[{c[7:]}]" if c.startswith("header:") else f"?{c}" for c in r.selector.split("+"))
        status = "implemented" if r.operation in HANDLERS else "501"
        lines.append(
            f"| {r.operation} | `{r.method} {where}{(' ' + sel) if sel else ''}` | {status} | {NOTES.get(r.operation, '')} |"
        )
    done = sum(1 for r in ROUTES if r.operation in HANDLERS)
    lines += ["", f"{done} of {len(ROUTES)} operations implemented.", ""]
    lines += ["## s3d's own headers", "", "| header | sent in | operations | what it does |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {how} | {ops} | {what} |" for name, how, ops, what in EXTENSIONS]
    lines.append("")
    lines += [
        "## Request bodies",
        "",
        "How PutObject, UploadPart and the operations that send a document read a body.",
        "",
    ]
    lines += _table(payload.COMPATIBILITY)
    lines += [
        "## User metadata",
        "",
        "How `x-amz-meta-*` values are read and answered (`src/s3d/user_metadata.py`).",
        "",
    ]
    lines += _table(user_metadata.COMPATIBILITY)
    lines += surface.documentation()
    return "\n".join(lines)


if __name__ == "__main__":
    print(compatibility_markdown(), end="")
