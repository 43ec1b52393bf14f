"""The S3 errors of access control, with AWS's status and message."""

from __future__ import annotations

from s3d.s3.errors import S3Error

ERRORS: dict[str, tuple[int, str]] = {
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "NoSuchPublicAccessBlockConfiguration": (404, "The public access block configuration was not found"),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "InvalidBucketAclWithObjectOwnership": (
        400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    ),
    "InvalidBucketAclWithBlockPublicAccessError": (
        400, "Bucket cannot have public ACLs set with BlockPublicAccess enabled",
    ),
}  # fmt: skip


def access_error(code: str, bucket: str) -> S3Error:
    status, message = ERRORS[code]
    return S3Error(code, message, status=status, extra={"BucketName": bucket})
