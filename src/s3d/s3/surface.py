"""What s3d does with every request header and query parameter S3 defines for an operation it implements.

For each implemented operation, every header and query parameter that S3's API
(botocore's service model) defines is listed here as honoured or refused; a
test compares this table with the model, so a parameter S3 adds cannot slip
through unnoticed. The request path calls ``check`` before the handler runs:
a refused header or parameter answers 501 NotImplemented (or the error AWS
gives) instead of being ignored. docs/compatibility.md is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from s3d.s3 import checksums
from s3d.s3.errors import S3Error

NOT_IMPLEMENTED = "NotImplemented"
# the owner of a refused feature: the issue that will build it


@dataclass(frozen=True, slots=True)
class Rule:
    """What s3d does with one header or query parameter of one operation."""

    note: str
    accepts: frozenset[str] | None = None  # None: every value (the handler validates it); else only these
    refused_code: str = NOT_IMPLEMENTED  # the error for a value not accepted
    owner: str | None = None  # for a refused feature: what will build it


def ok(note: str) -> Rule:
    return Rule(note)


def only(note: str, *values: str, code: str = NOT_IMPLEMENTED, owner: str | None = None) -> Rule:
    """Honoured for these values (compared case-insensitively); any other value is refused."""
    return Rule(note, frozenset(v.lower() for v in values), code, owner)


def refused(note: str, owner: str | None = None, code: str = NOT_IMPLEMENTED) -> Rule:
    return Rule(note, frozenset(), code, owner)


Table = dict[str, Rule]

# ---------- groups shared by several operations ----------
EXPECTED_OWNER: Table = {
    "x-amz-expected-bucket-owner": ok("compared with the bucket's owner (the user name s3d reports as Owner ID); 403 AccessDenied if it differs"),
}  # fmt: skip
SOURCE_OWNER: Table = {
    "x-amz-source-expected-bucket-owner": ok("compared with the source bucket's owner; 403 AccessDenied if it differs"),
}
REQUEST_PAYER: Table = {
    "x-amz-request-payer": only("s3d charges no one, so a requester-pays acknowledgement changes nothing", "requester", code="InvalidArgument"),
}  # fmt: skip
MD5: Table = {"content-md5": ok("checked against the body; BadDigest on a mismatch")}
SDK_CHECKSUM: Table = {"x-amz-sdk-checksum-algorithm": ok("the body's checksum is computed and checked with it")}
CHECKSUM_ALGORITHMS = tuple(a.lower() for a in checksums.ALGORITHMS)
UNSUPPORTED_CHECKSUMS = tuple(a.lower() for a in checksums.NOT_COMPUTED)
BODY_CHECKSUMS: Table = {
    **{f"x-amz-checksum-{a}": ok("checked against the body and stored") for a in CHECKSUM_ALGORITHMS},
    **{f"x-amz-checksum-{a}": refused("checksum algorithm not supported by s3d") for a in UNSUPPORTED_CHECKSUMS},
}
CONTENT: Table = {
    name: ok("stored and returned on GET/HEAD")
    for name in (
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-type",
        "expires",
    )
}
USER_META: Table = {"x-amz-meta-*": ok("stored RFC 2047 decoded, returned on GET/HEAD encoded when not plain ASCII (2 KB of UTF-8 at most; see User metadata)")}  # fmt: skip
STORAGE_CLASS: Table = {"x-amz-storage-class": ok("stored and reported; every class is the same local disk")}
TAGGING: Table = {"x-amz-tagging": ok("stored as the object's tags")}
WEBSITE: Table = {"x-amz-website-redirect-location": refused("s3d has no website hosting")}
CANNED_ACLS = "private, public-read, public-read-write, authenticated-read, bucket-owner-read, bucket-owner-full-control, log-delivery-write"
ACL_ENFORCED = "recorded and enforced (docs/security.md); beyond private it needs a bucket ObjectOwnership that enables ACLs (400 AccessControlListNotSupported)"
GRANT = 'id="<user>" or uri="<group>" grantees, recorded and enforced like x-amz-acl; not with x-amz-acl (400 InvalidRequest)'
ACL: Table = {
    "x-amz-acl": ok(f"a canned ACL ({CANNED_ACLS}), {ACL_ENFORCED}; another value: 400 InvalidArgument"),
    **{f"x-amz-grant-{g}": ok(GRANT) for g in ("full-control", "read", "read-acp", "write-acp")},
}
BUCKET_ACL: Table = {
    "x-amz-acl": ok(
        f"a canned ACL ({CANNED_ACLS.replace(' bucket-owner-read, bucket-owner-full-control,', '')}), {ACL_ENFORCED}; another value: 400 InvalidArgument"
    ),
    **{f"x-amz-grant-{g}": ok(GRANT) for g in ("full-control", "read", "read-acp", "write", "write-acp")},
}
SSE: Table = {
    "x-amz-server-side-encryption": ok("SSE-S3 (AES256) or SSE-KMS (aws:kms, a local keyring); aws:kms:dsse is 501 (docs/encryption.md)"),
    "x-amz-server-side-encryption-aws-kms-key-id": ok("a key of the daemon's KMS keyring; 400 KMS.NotFoundException if none"),
    "x-amz-server-side-encryption-context": ok("bound into the wrapped data key; base64 JSON of strings"),
    "x-amz-server-side-encryption-bucket-key-enabled": ok("recorded and answered (a local keyring makes no per-object KMS calls)"),
}  # fmt: skip
SSE_C: Table = {
    f"x-amz-server-side-encryption-customer-{p}": ok("SSE-C: the customer's key, checked as AWS does and never stored")
    for p in ("algorithm", "key", "key-md5")
}
COPY_SOURCE_SSE_C: Table = {
    f"x-amz-copy-source-server-side-encryption-customer-{p}": ok("the SSE-C key of the copy source")
    for p in ("algorithm", "key", "key-md5")
}
OBJECT_LOCK: Table = {
    "x-amz-object-lock-mode": ok("GOVERNANCE or COMPLIANCE retention of the new version (bucket with object lock only)"),
    "x-amz-object-lock-retain-until-date": ok("the end of the new version's retention, in the future"),
    "x-amz-object-lock-legal-hold": ok("ON or OFF: the new version's legal hold"),
    **{f"x-amz-object-lock-{h}": refused("event holds") for h in (
        "event-hold", "event-hold-duration-days", "event-hold-duration-years")},
}  # fmt: skip
VERSION_ID: Table = {"versionId": ok("the version (null: the null version); docs/versioning.md")}
BYPASS: Table = {"x-amz-bypass-governance-retention": ok("true: GOVERNANCE retention yields")}
MFA: Table = {"x-amz-mfa": refused("MFA delete"), **BYPASS}
WRITE_CONDITIONS: Table = {
    "if-match": ok("the write happens only if the current object has this ETag: 412 PreconditionFailed, 404 NoSuchKey if there is none"),
    "if-none-match": only("* only: the write happens only if the key does not exist (412 PreconditionFailed)", "*"),
}  # fmt: skip
READ_CONDITIONS: Table = {
    name: ok("RFC 7232 preconditions: 412 PreconditionFailed or 304 NotModified")
    for name in ("if-match", "if-modified-since", "if-none-match", "if-unmodified-since")
}
COPY_CONDITIONS: Table = {
    f"x-amz-copy-source-if-{c}": ok("preconditions on the source object: 412 PreconditionFailed")
    for c in ("match", "modified-since", "none-match", "unmodified-since")
}
COPY_SOURCE: Table = {"x-amz-copy-source": ok("bucket/key of the source, optionally ?versionId=ID")}
UPLOAD_ID: Table = {"uploadId": ok("the multipart upload")}
PART_NUMBER: Table = {"partNumber": ok("1 to 10000")}
OBJECT_PUT: Table = {
    **ACL, **CONTENT, "content-length": ok("the body's length"), **MD5, **SDK_CHECKSUM, **BODY_CHECKSUMS,
    **WRITE_CONDITIONS, **USER_META, **SSE, **SSE_C, **STORAGE_CLASS, **WEBSITE, **REQUEST_PAYER, **TAGGING,
    **OBJECT_LOCK, **EXPECTED_OWNER,
    "x-amz-write-offset-bytes": refused("appending to an object (directory buckets only at AWS)"),
}  # fmt: skip
GET_OR_HEAD: Table = {
    **READ_CONDITIONS, "range": ok("one byte range; 206 Partial Content"), **SSE_C, **REQUEST_PAYER,
    **EXPECTED_OWNER, "x-amz-checksum-mode": ok("ENABLED returns the stored checksum"),
    **{f"response-{h}": ok(f"overrides the {h.replace('-', ' ')} header of the response")
       for h in ("cache-control", "content-disposition", "content-encoding", "content-language", "content-type", "expires")},
    **VERSION_ID, **PART_NUMBER,
}  # fmt: skip
BUCKET_CONFIG_PUT: Table = {**MD5, **SDK_CHECKSUM, **EXPECTED_OWNER}
LISTING: Table = {
    "delimiter": ok("groups keys into CommonPrefixes"),
    "encoding-type": only("url: keys and prefixes come back URL-encoded", "url", code="InvalidArgument"),
    "max-keys": ok("at most 1000"),
    "prefix": ok("only keys that start with it"),
    "x-amz-optional-object-attributes": only("RestoreStatus: no s3d object is archived, so none carries one", "RestoreStatus", code="InvalidArgument"),
    **REQUEST_PAYER, **EXPECTED_OWNER,
}  # fmt: skip

SURFACE: dict[str, Table] = {
    "AbortMultipartUpload": {
        **UPLOAD_ID, **REQUEST_PAYER, **EXPECTED_OWNER,
        "x-amz-if-match-initiated-time": ok("aborts only an upload initiated at that time: 412 PreconditionFailed otherwise, 204 if there is no such upload"),
    },
    "CompleteMultipartUpload": {
        **UPLOAD_ID, **{k: v for k, v in BODY_CHECKSUMS.items() if k not in (f"x-amz-checksum-{a}" for a in CHECKSUM_ALGORITHMS)},
        **{f"x-amz-checksum-{a}": ok("the full-object checksum of the assembled object, compared with the one computed (FULL_OBJECT; for COMPOSITE the checksum of the part checksums, -N suffixed): BadDigest on a mismatch") for a in CHECKSUM_ALGORITHMS},
        "x-amz-checksum-type": ok("must match the upload's checksum type: BadDigest otherwise"),
        "x-amz-mp-object-size": ok("the assembled object's size must match: 400 InvalidRequest otherwise"),
        **REQUEST_PAYER, **EXPECTED_OWNER, **WRITE_CONDITIONS, **SSE_C,
    },
    "CopyObject": {
        **{k: v for k, v in OBJECT_PUT.items() if k not in (
            "content-length", "content-md5", "x-amz-sdk-checksum-algorithm", "x-amz-write-offset-bytes", *BODY_CHECKSUMS)},
        "x-amz-checksum-algorithm": refused("computing a new checksum while copying"),
        **COPY_SOURCE, **COPY_CONDITIONS, **COPY_SOURCE_SSE_C, **SOURCE_OWNER,
        "x-amz-metadata-directive": ok("COPY or REPLACE"),
        "x-amz-tagging-directive": ok("COPY or REPLACE"),
        "x-amz-object-annotation-directive": refused("object annotations"),
    },
    "CreateBucket": {
        **BUCKET_ACL,
        "x-amz-bucket-object-lock-enabled": only("true: object lock (and versioning, for good)", "true", "false", code="InvalidArgument"),
        "x-amz-object-ownership": ok("BucketOwnerEnforced (the default: ACLs off), BucketOwnerPreferred or ObjectWriter; another value: 400 InvalidArgument"),
        "x-amz-bucket-namespace": only("only global: s3d has one namespace", "global"),
    },
    "CreateMultipartUpload": {
        **{k: v for k, v in OBJECT_PUT.items() if k not in (
            "content-length", "content-md5", "x-amz-sdk-checksum-algorithm", "x-amz-write-offset-bytes",
            "if-match", "if-none-match", *BODY_CHECKSUMS)},
        "x-amz-checksum-algorithm": ok("every part must carry this checksum; the object gets one"),
        "x-amz-checksum-type": ok("COMPOSITE or FULL_OBJECT"),
    },
    "DeleteBucket": EXPECTED_OWNER,
    "DeleteBucketOwnershipControls": EXPECTED_OWNER,
    "DeleteBucketPolicy": EXPECTED_OWNER,
    "DeleteBucketCors": EXPECTED_OWNER,
    "DeleteBucketTagging": EXPECTED_OWNER,
    "DeleteObject": {
        **MFA, **REQUEST_PAYER, **EXPECTED_OWNER, **VERSION_ID,
        "if-match": ok("deletes only if the object has this ETag (* any): 412 PreconditionFailed, 404 NoSuchKey if there is none"),
        "x-amz-if-match-last-modified-time": ok("deletes only if the object was last modified then: 412 PreconditionFailed; 204 if there is no object"),
        "x-amz-if-match-size": ok("deletes only if the object has this size: 412 PreconditionFailed; 204 if there is no object"),
    },
    "DeleteObjects": {**MFA, **REQUEST_PAYER, **EXPECTED_OWNER, **SDK_CHECKSUM, **MD5},
    "PutBucketVersioning": {**BUCKET_CONFIG_PUT, "x-amz-mfa": refused("MFA delete")},
    "GetBucketVersioning": EXPECTED_OWNER,
    "ListObjectVersions": {
        **LISTING, "key-marker": ok("versions after this key"),
        "version-id-marker": ok("versions of key-marker after this one"),
    },
    "PutObjectLockConfiguration": {
        **BUCKET_CONFIG_PUT, **REQUEST_PAYER,
        "x-amz-bucket-object-lock-token": refused("a token for enabling object lock on an existing bucket, which s3d refuses"),
    },
    "GetObjectLockConfiguration": EXPECTED_OWNER,
    "PutObjectRetention": {**BUCKET_CONFIG_PUT, **REQUEST_PAYER, **VERSION_ID, **BYPASS},
    "GetObjectRetention": {**EXPECTED_OWNER, **REQUEST_PAYER, **VERSION_ID},
    "PutObjectLegalHold": {**BUCKET_CONFIG_PUT, **REQUEST_PAYER, **VERSION_ID},
    "GetObjectLegalHold": {**EXPECTED_OWNER, **REQUEST_PAYER, **VERSION_ID},
    "PutBucketLifecycleConfiguration": {
        **BUCKET_CONFIG_PUT, "x-amz-transition-default-minimum-object-size": refused("lifecycle transitions"),
    },
    "GetBucketLifecycleConfiguration": EXPECTED_OWNER,
    "DeleteBucketLifecycle": EXPECTED_OWNER,
    "DeletePublicAccessBlock": EXPECTED_OWNER,
    "GetBucketAcl": EXPECTED_OWNER,
    "GetBucketCors": EXPECTED_OWNER,
    "GetBucketLocation": EXPECTED_OWNER,
    "GetBucketOwnershipControls": EXPECTED_OWNER,
    "GetBucketPolicy": EXPECTED_OWNER,
    "GetBucketPolicyStatus": EXPECTED_OWNER,
    "GetBucketTagging": EXPECTED_OWNER,
    "GetObject": GET_OR_HEAD,
    "GetObjectAttributes": {
        "x-amz-max-parts": ok("at most 1000"),
        "x-amz-part-number-marker": ok("parts after this number"),
        "x-amz-object-attributes": ok("ETag, Checksum, ObjectParts, StorageClass, ObjectSize"),
        **SSE_C, **REQUEST_PAYER, **EXPECTED_OWNER, **VERSION_ID,
    },
    "GetObjectAcl": {**EXPECTED_OWNER, **REQUEST_PAYER, **VERSION_ID},
    "GetObjectTagging": {**EXPECTED_OWNER, **REQUEST_PAYER, **VERSION_ID},
    "GetPublicAccessBlock": EXPECTED_OWNER,
    "HeadBucket": EXPECTED_OWNER,
    "HeadObject": GET_OR_HEAD,
    "ListBuckets": {
        "max-buckets": ok("1 to 10000"),
        "continuation-token": ok("the page after this bucket"),
        "prefix": ok("only buckets whose name starts with it"),
        "bucket-region": ok("only buckets in this region"),
    },
    "ListMultipartUploads": {
        **{k: v for k, v in LISTING.items() if k not in ("max-keys", "x-amz-optional-object-attributes")},
        "key-marker": ok("uploads after this key"),
        "max-uploads": ok("at most 1000"),
        "upload-id-marker": ok("uploads of key-marker after this one"),
    },
    "ListObjects": {**LISTING, "marker": ok("keys after this one")},
    "ListObjectsV2": {
        **LISTING, "list-type": ok("2"),
        "continuation-token": ok("the page after the previous one (empty: the first page)"),
        "fetch-owner": ok("true adds each object's Owner"),
        "start-after": ok("keys after this one"),
    },
    "ListParts": {
        **UPLOAD_ID, **REQUEST_PAYER, **EXPECTED_OWNER, **SSE_C,
        "max-parts": ok("at most 1000"),
        "part-number-marker": ok("parts after this number"),
    },
    "PutBucketAcl": {**BUCKET_CONFIG_PUT, **BUCKET_ACL},
    "PutBucketCors": BUCKET_CONFIG_PUT,
    "PutBucketEncryption": BUCKET_CONFIG_PUT,
    "GetBucketEncryption": EXPECTED_OWNER,
    "DeleteBucketEncryption": EXPECTED_OWNER,
    "PutBucketOwnershipControls": BUCKET_CONFIG_PUT,
    "PutBucketPolicy": {
        **BUCKET_CONFIG_PUT,
        "x-amz-confirm-remove-self-bucket-access": ok("needs no effect in s3d: a policy that denies its owner is stored either way, and its explicit Deny applies to the owner too"),
    },
    "PutBucketTagging": BUCKET_CONFIG_PUT,
    "PutObject": OBJECT_PUT,
    "PutObjectAcl": {
        **BUCKET_CONFIG_PUT, **REQUEST_PAYER, **VERSION_ID, **ACL,
        "x-amz-grant-write": ok("recorded like the other grants; WRITE on an object allows nothing, as at S3"),
    },
    "PutObjectTagging": {**BUCKET_CONFIG_PUT, **REQUEST_PAYER, **VERSION_ID},
    "DeleteObjectTagging": {**EXPECTED_OWNER, **VERSION_ID},
    "PutPublicAccessBlock": BUCKET_CONFIG_PUT,
    "SelectObjectContent": {
        **SSE_C, **EXPECTED_OWNER,
        "select-type": only("2, as in every SelectObjectContent request", "2", code="InvalidArgument"),
    },
    "UploadPart": {
        **UPLOAD_ID, **PART_NUMBER, "content-length": ok("the body's length"), **MD5, **SDK_CHECKSUM,
        **BODY_CHECKSUMS, **SSE_C, **REQUEST_PAYER, **EXPECTED_OWNER,
    },
    "UploadPartCopy": {
        **UPLOAD_ID, **PART_NUMBER, **COPY_SOURCE, **COPY_CONDITIONS,
        "x-amz-copy-source-range": ok("bytes=first-last of the source"),
        **SSE_C, **COPY_SOURCE_SSE_C, **REQUEST_PAYER, **EXPECTED_OWNER, **SOURCE_OWNER,
    },
}  # fmt: skip

# the names above that travel in the query string; every other name is a request header
QUERY_PARAMETERS = frozenset({
    "versionId", "uploadId", "partNumber", "list-type", "delimiter", "encoding-type", "max-keys", "prefix", "marker",
    "continuation-token", "fetch-owner", "start-after", "key-marker", "max-uploads", "upload-id-marker", "max-parts",
    "part-number-marker", "max-buckets", "bucket-region", "version-id-marker", "select-type",
    *(f"response-{h}" for h in (
        "cache-control", "content-disposition", "content-encoding", "content-language", "content-type", "expires")),
})  # fmt: skip
META_PREFIX = "x-amz-meta-"
EXPECTED_OWNER_HEADER = "x-amz-expected-bucket-owner"
SOURCE_OWNER_HEADER = "x-amz-source-expected-bucket-owner"
OwnerLookup = Callable[[str], str | None]  # bucket name -> its owner, None if there is no such bucket


def _header_rule(table: Table, name: str) -> Rule | None:
    if name.startswith(META_PREFIX):
        return table.get(META_PREFIX + "*")
    return table.get(name)


def _refuse(name: str, value: str, rule: Rule, kind: str) -> S3Error:
    if rule.refused_code == NOT_IMPLEMENTED:
        return S3Error(
            NOT_IMPLEMENTED,
            f"s3d does not implement the {name} {kind}{' with this value' if rule.accepts else ''}: {rule.note}.",
            extra={"ArgumentName": name},
        )
    return S3Error(rule.refused_code, f"Invalid value for the {name} {kind}: {rule.note}.", extra={
        "ArgumentName": name, "ArgumentValue": value})  # fmt: skip


def _allowed(rule: Rule, value: str) -> bool:
    return rule.accepts is None or value.strip().lower() in rule.accepts


def check(operation: str, headers: dict[str, str], query: dict[str, str]) -> None:
    """Refuse a request that names a header or parameter s3d does not honour (or a value it does not)."""
    table = SURFACE.get(operation)
    if table is None:
        return
    for name, value in headers.items():
        rule = None if name in QUERY_PARAMETERS else _header_rule(table, name)
        if rule is not None and not _allowed(rule, value):
            raise _refuse(name, value, rule, "header")
    for name, value in query.items():
        rule = table.get(name) if name in QUERY_PARAMETERS else None
        if rule is not None and not _allowed(rule, value):
            raise _refuse(name, value, rule, "parameter")


# PostObject's form fields that stand for a PutObject header of another name
FORM_FIELD_HEADERS = {"acl": "x-amz-acl"}
# PostObject: the form fields (named like PutObject's headers) it honours beyond those of its policy
FORM_HONOURED = frozenset({*CONTENT, "x-amz-meta-*", *SSE, *SSE_C, "x-amz-acl"})


def check_form(fields: dict[str, str]) -> None:
    """PostObject: a form field naming a PutObject header s3d does not honour (or stores nowhere) is refused."""
    headers = {FORM_FIELD_HEADERS.get(name, name): value for name, value in fields.items()}
    for name, value in headers.items():
        rule = _header_rule(OBJECT_PUT, name)
        if rule is None:
            continue
        if not _allowed(rule, value):
            raise _refuse(name, value, rule, "form field")
        if (META_PREFIX + "*" if name.startswith(META_PREFIX) else name) not in FORM_HONOURED and rule.accepts is None:
            raise _refuse(name, value, refused("not implemented for browser uploads"), "form field")


def check_owners(operation: str, headers: dict[str, str], bucket: str | None, owner_of: OwnerLookup) -> None:
    """x-amz-expected-bucket-owner / x-amz-source-expected-bucket-owner: 403 AccessDenied if the owner differs."""
    table = SURFACE.get(operation, {})
    for header, name in (
        (EXPECTED_OWNER_HEADER, bucket),
        (SOURCE_OWNER_HEADER, copy_source_bucket(headers.get("x-amz-copy-source", ""))),
    ):
        want = headers.get(header)
        if want is None or header not in table or not name:
            continue
        have = owner_of(name)
        if have is not None and have != want:
            raise S3Error("AccessDenied", resource=f"/{name}")


def copy_source_bucket(raw: str) -> str:
    """The bucket an x-amz-copy-source header names ("" if none)."""
    return unquote(raw.partition("?")[0]).lstrip("/").partition("/")[0]


def describe(rule: Rule) -> str:
    """A rule as docs/compatibility.md states it."""
    if rule.accepts is None:
        return f"honoured: {rule.note}"
    answer = "501 NotImplemented" if rule.refused_code == NOT_IMPLEMENTED else f"400 {rule.refused_code}"
    until = f" (until {rule.owner} lands)" if rule.owner and rule.refused_code == NOT_IMPLEMENTED else ""
    if rule.accepts:
        return f"honoured: {rule.note}; any other value: {answer}{until}"
    return f"refused, {answer}{until}: {rule.note}"


def documentation() -> list[str]:
    """The per-operation section of docs/compatibility.md: every header and parameter, honoured or refused."""
    lines = [
        "## Headers and query parameters",
        "",
        "For each implemented operation, every request header and query parameter S3's API defines (as",
        "botocore's S3 model lists them), and what s3d does with it. A refused one is answered with the",
        "error shown rather than ignored.",
        "",
    ]
    for operation in sorted(SURFACE):
        lines += [f"### {operation}", "", "| name | in | s3d |", "|---|---|---|"]
        for name in sorted(SURFACE[operation], key=lambda n: (n in QUERY_PARAMETERS, n.lower())):
            where = "query" if name in QUERY_PARAMETERS else "header"
            lines.append(f"| `{name}` | {where} | {describe(SURFACE[operation][name])} |")
        lines.append("")
    return lines
