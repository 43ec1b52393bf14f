"""A bucket's access settings, read from its stored configuration.

Items of the bucket configuration: ``policy`` (the policy text as put), ``acl`` (see acl.py),
``ownership`` (an ObjectOwnership value; "" once deleted) and ``public_access_block`` (the four
flags; {} once deleted). A bucket with no stored item has AWS's defaults for a new bucket:
BucketOwnerEnforced and all four public access blocks on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s3d.access import acl

POLICY, ACL, OWNERSHIP, PUBLIC_ACCESS_BLOCK = "policy", "acl", "ownership", "public_access_block"
OWNER_ENFORCED, OWNER_PREFERRED, OBJECT_WRITER = "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"
OWNERSHIPS = (OWNER_ENFORCED, OWNER_PREFERRED, OBJECT_WRITER)
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
DEFAULT_BLOCK = dict.fromkeys(BLOCK_FLAGS, True)


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    @classmethod
    def of(cls, config: dict[str, Any]) -> PublicAccessBlock:
        flags = config.get(PUBLIC_ACCESS_BLOCK, DEFAULT_BLOCK)
        return cls(*(bool(flags.get(f, False)) for f in BLOCK_FLAGS))


def ownership(config: dict[str, Any]) -> str | None:
    """The bucket's ObjectOwnership; None once its ownership controls were deleted (ACLs then work)."""
    value = config.get(OWNERSHIP, OWNER_ENFORCED)
    return value or None


def acls_enabled(config: dict[str, Any]) -> bool:
    return ownership(config) != OWNER_ENFORCED


def bucket_acl(config: dict[str, Any], owner: str) -> acl.Acl:
    return acl.from_json(config.get(ACL), owner)
