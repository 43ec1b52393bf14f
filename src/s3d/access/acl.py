"""Access control lists: canned ACLs, x-amz-grant-* headers, the AccessControlPolicy document, grants.

An ACL is stored as JSON ``{"owner": id, "grants": [[kind, grantee, permission], ...]}``: in the
bucket's configuration (item ``acl``) and in an object's metadata (``x-s3d-acl``, which s3d never
returns as a header). No stored ACL means ``private``: the owner has FULL_CONTROL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from s3d.s3 import xml
from s3d.s3.errors import S3Error

CANONICAL_USER = "CanonicalUser"
GROUP = "Group"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})
PUBLIC_GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS})
READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = "READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"
PERMISSIONS = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)
GRANT_HEADERS = {
    "x-amz-grant-read": READ,
    "x-amz-grant-write": WRITE,
    "x-amz-grant-read-acp": READ_ACP,
    "x-amz-grant-write-acp": WRITE_ACP,
    "x-amz-grant-full-control": FULL_CONTROL,
}
CANNED_HEADER = "x-amz-acl"
OBJECT_META = "x-s3d-acl"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_GRANTS = 100
PRIVATE = "private"
BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"
CANNED = frozenset(
    {
        PRIVATE, "public-read", "public-read-write", "authenticated-read", "bucket-owner-read",
        BUCKET_OWNER_FULL_CONTROL, "log-delivery-write",
    }
)  # fmt: skip

# what each permission allows, on a bucket and on an object
BUCKET_ACTIONS = {
    READ: frozenset({"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}),
    WRITE: frozenset({"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}),
    READ_ACP: frozenset({"s3:GetBucketAcl"}),
    WRITE_ACP: frozenset({"s3:PutBucketAcl"}),
}
OBJECT_ACTIONS = {
    READ: frozenset({"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"}),
    READ_ACP: frozenset({"s3:GetObjectAcl", "s3:GetObjectVersionAcl"}),
    WRITE_ACP: frozenset({"s3:PutObjectAcl", "s3:PutObjectVersionAcl"}),
}
OBJECT_ACL_ACTIONS = frozenset().union(*OBJECT_ACTIONS.values())
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*')


@dataclass(slots=True)
class Grant:
    kind: str  # CanonicalUser | Group
    grantee: str  # canonical user id or group URI
    permission: str


@dataclass(slots=True)
class Acl:
    owner: str
    grants: list[Grant] = field(default_factory=list)

    @property
    def is_public(self) -> bool:
        return any(g.kind == GROUP and g.grantee in PUBLIC_GROUPS for g in self.grants)

    @property
    def is_private(self) -> bool:
        return all(g.kind == CANONICAL_USER and g.grantee == self.owner for g in self.grants)

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "grants": [[g.kind, g.grantee, g.permission] for g in self.grants]}

    def allows(self, user: str | None, action: str, table: dict[str, frozenset[str]], public: bool) -> bool:
        """Whether a grant to this caller (None: anonymous) allows the action; ``public`` False ignores public groups."""
        for g in self.grants:
            if g.kind == CANONICAL_USER:
                if user is None or g.grantee != user:
                    continue
            elif g.grantee == AUTHENTICATED_USERS:
                if user is None or not public:
                    continue
            elif g.grantee != ALL_USERS or not public:
                continue
            if g.permission == FULL_CONTROL or action in table.get(g.permission, frozenset()):
                return True
        return False


def private(owner: str) -> Acl:
    return Acl(owner, [Grant(CANONICAL_USER, owner, FULL_CONTROL)])


def from_json(raw: Any, default_owner: str) -> Acl:
    if not isinstance(raw, dict):
        return private(default_owner)
    return Acl(str(raw["owner"]), [Grant(k, g, p) for k, g, p in raw["grants"]])


def object_acl(meta: dict[str, str], bucket_owner: str) -> Acl:
    raw = meta.get(OBJECT_META)
    return from_json(json.loads(raw), bucket_owner) if raw else private(bucket_owner)


def canned(name: str, owner: str, bucket_owner: str) -> Acl:
    acl = private(owner)
    add = acl.grants.append
    if name == "public-read":
        add(Grant(GROUP, ALL_USERS, READ))
    elif name == "public-read-write":
        add(Grant(GROUP, ALL_USERS, READ))
        add(Grant(GROUP, ALL_USERS, WRITE))
    elif name == "authenticated-read":
        add(Grant(GROUP, AUTHENTICATED_USERS, READ))
    elif name == "bucket-owner-read" and bucket_owner != owner:
        add(Grant(CANONICAL_USER, bucket_owner, READ))
    elif name == BUCKET_OWNER_FULL_CONTROL and bucket_owner != owner:
        add(Grant(CANONICAL_USER, bucket_owner, FULL_CONTROL))
    elif name == "log-delivery-write":
        add(Grant(GROUP, LOG_DELIVERY, WRITE))
        add(Grant(GROUP, LOG_DELIVERY, READ_ACP))
    return acl


def _grantee(kind: str, value: str, users: frozenset[str]) -> Grant:
    if kind == "emailAddress":
        raise S3Error(
            "UnresolvableGrantByEmailAddress",
            "The email address you provided does not match any account on record.",
            status=400,
        )
    if kind == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", extra={"ArgumentName": "uri"})
        return Grant(GROUP, value, "")
    if value not in users:
        raise S3Error("InvalidArgument", "Invalid id", extra={"ArgumentName": "CanonicalUser/ID"})
    return Grant(CANONICAL_USER, value, "")


def requested(
    headers: dict[str, str], owner: str, bucket_owner: str, users: frozenset[str], objects: bool
) -> Acl | None:
    """The ACL a request's x-amz-acl or x-amz-grant-* headers ask for; None if it names none."""
    canned_name = headers.get(CANNED_HEADER)
    grant_headers = [h for h in GRANT_HEADERS if h in headers]
    if canned_name is not None and grant_headers:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    if canned_name is not None:
        if canned_name not in CANNED or (not objects and canned_name.startswith("bucket-owner-")):
            raise S3Error("InvalidArgument", extra={"ArgumentName": CANNED_HEADER, "ArgumentValue": canned_name})
        return canned(canned_name, owner, bucket_owner)
    if not grant_headers:
        return None
    acl = Acl(owner, [])
    for h in grant_headers:
        for item in headers[h].split(","):
            m = _GRANTEE.fullmatch(item)
            if m is None:
                raise S3Error("InvalidArgument", extra={"ArgumentName": h, "ArgumentValue": headers[h]})
            g = _grantee(m.group(1), m.group(2), users)
            g.permission = GRANT_HEADERS[h]
            acl.grants.append(g)
    return acl


def parse_document(body: bytes, owner: str, users: frozenset[str]) -> Acl:
    """An AccessControlPolicy request body."""
    root = xml.parse(body)
    if root.tag != "AccessControlPolicy":
        raise S3Error("MalformedACLError", "The XML you provided was not well-formed or did not validate.", status=400)
    owner_id = root.findtext("Owner/ID")
    if owner_id is not None and owner_id != owner:
        raise S3Error("AccessDenied", "The Owner ID in the ACL is not the owner of the resource")
    grants = root.findall("AccessControlList/Grant")
    if len(grants) > MAX_GRANTS:
        raise S3Error("MalformedACLError", "The request contains more than 100 grants.", status=400)
    acl = Acl(owner, [])
    for el in grants:
        grantee = el.find("Grantee")
        perm = el.findtext("Permission")
        if grantee is None or perm not in PERMISSIONS:
            raise S3Error(
                "MalformedACLError", "The XML you provided was not well-formed or did not validate.", status=400
            )
        kind = next((v for k, v in grantee.attrib.items() if k.endswith("type")), "")
        if kind == CANONICAL_USER:
            g = _grantee("id", grantee.findtext("ID") or "", users)
        elif kind == GROUP:
            g = _grantee("uri", grantee.findtext("URI") or "", users)
        elif kind == "AmazonCustomerByEmail":
            g = _grantee("emailAddress", grantee.findtext("EmailAddress") or "", users)
        else:
            raise S3Error(
                "MalformedACLError", "The XML you provided was not well-formed or did not validate.", status=400
            )
        g.permission = perm
        acl.grants.append(g)
    return acl


def render(acl: Acl) -> bytes:
    grants: list[xml.Node] = []
    for g in acl.grants:
        who: list[xml.Node] = (
            [("ID", g.grantee), ("DisplayName", g.grantee)] if g.kind == CANONICAL_USER else [("URI", g.grantee)]
        )
        grants.append(("Grant", [("Grantee", who), ("Permission", g.permission)]))
    body = xml.document(
        "AccessControlPolicy",
        [("Owner", [("ID", acl.owner), ("DisplayName", acl.owner)]), ("AccessControlList", grants)],
    )
    # the Grantee elements name their kind with xsi:type, as S3 writes them
    text = body.decode()
    for kind in (CANONICAL_USER, GROUP):
        marker = "<ID>" if kind == CANONICAL_USER else "<URI>"
        text = text.replace(f"<Grantee>{marker}", f'<Grantee xmlns:xsi="{XSI}" xsi:type="{kind}">{marker}')
    return text.encode()
