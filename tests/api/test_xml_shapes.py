"""Request documents are held to the shape S3's schema gives them: an unknown element, or a second copy of an
element S3 does not repeat, is 400 MalformedXML (MalformedACLError for an ACL), never ignored or read as
"first one wins"; an element S3 defines but s3d does not implement is 501 NotImplemented. Elements S3
repeats (Rule, Tag, Part, Object, CORSRule, Grant...) stay repeatable: the shapes are checked against
botocore's model of S3."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import botocore.session
import pytest

from s3d.s3 import xml
from s3d.s3.handlers import acls, cors, lifecycle, lock, multipart, objects, sse, tagging, versioning
from s3d.s3.select import request
from tests.conftest import _names
from tests.support.rawhttp import RawResponse, call
from tests.support.server import S3dProcess


class Document(NamedTuple):
    method: str
    path: str  # below the bucket
    query: str
    template: str  # {x}: where the test adds an element
    repeat: str  # a second copy of an element the template has at {x}
    code: str = "MalformedXML"


SOON = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"'
DOCUMENTS = {
    "PutObjectTagging": Document(
        "PUT", "/obj", "tagging", "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value>{x}</Tag></TagSet></Tagging>",
        "<Value>v2</Value>",
    ),
    "PutBucketTagging": Document(
        "PUT", "", "tagging", "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet>{x}</Tagging>",
        "<TagSet><Tag><Key>other</Key><Value>v</Value></Tag></TagSet>",
    ),
    "PutBucketVersioning": Document(
        "PUT", "", "versioning", "<VersioningConfiguration><Status>Enabled</Status>{x}</VersioningConfiguration>",
        "<Status>Suspended</Status>",
    ),
    "PutBucketLifecycleConfiguration": Document(
        "PUT", "", "lifecycle",
        "<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>a</Prefix></Filter>"
        "<Expiration><Days>1</Days>{x}</Expiration></Rule></LifecycleConfiguration>",
        "<Days>2</Days>",
    ),
    "PutObjectLockConfiguration": Document(
        "PUT", "", "object-lock",
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        "<Mode>GOVERNANCE</Mode><Days>1</Days>{x}</DefaultRetention></Rule></ObjectLockConfiguration>",
        "<Mode>COMPLIANCE</Mode>",
    ),
    "PutObjectRetention": Document(
        "PUT", "/obj", "retention",
        f"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{SOON}</RetainUntilDate>{{x}}</Retention>",
        "<Mode>COMPLIANCE</Mode>",
    ),
    "PutObjectLegalHold": Document(
        "PUT", "/obj", "legal-hold", "<LegalHold><Status>OFF</Status>{x}</LegalHold>", "<Status>ON</Status>"
    ),
    "PutBucketCors": Document(
        "PUT", "", "cors",
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        "<MaxAgeSeconds>1</MaxAgeSeconds>{x}</CORSRule></CORSConfiguration>",
        "<MaxAgeSeconds>2</MaxAgeSeconds>",
    ),
    "PutBucketEncryption": Document(
        "PUT", "", "encryption",
        "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        "</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>{x}</Rule>"
        "</ServerSideEncryptionConfiguration>",
        "<BucketKeyEnabled>true</BucketKeyEnabled>",
    ),
    "PutBucketOwnershipControls": Document(
        "PUT", "", "ownershipControls",
        "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>{x}</Rule></OwnershipControls>",
        "<ObjectOwnership>ObjectWriter</ObjectOwnership>",
    ),
    "PutPublicAccessBlock": Document(
        "PUT", "", "publicAccessBlock",
        "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>{x}</PublicAccessBlockConfiguration>",
        "<BlockPublicAcls>false</BlockPublicAcls>",
    ),
    "PutBucketAcl": Document(
        "PUT", "", "acl",
        f"<AccessControlPolicy><AccessControlList><Grant><Grantee {XSI}><ID>someone</ID></Grantee>"
        "<Permission>READ</Permission>{x}</Grant></AccessControlList></AccessControlPolicy>",
        "<Permission>FULL_CONTROL</Permission>",
        "MalformedACLError",
    ),
    "DeleteObjects": Document(
        "POST", "", "delete", "<Delete><Object><Key>gone</Key>{x}</Object></Delete>", "<Key>obj</Key>"
    ),
    "CompleteMultipartUpload": Document(
        "POST", "/mp", "uploadId=none",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>{x}</Part></CompleteMultipartUpload>",
        "<ETag>f</ETag>",
    ),
    "SelectObjectContent": Document(
        "POST", "/obj", "select&select-type=2",
        "<SelectObjectContentRequest><Expression>SELECT * FROM S3Object</Expression><ExpressionType>SQL"
        "</ExpressionType><InputSerialization><CSV><FieldDelimiter>,</FieldDelimiter>{x}</CSV></InputSerialization>"
        "<OutputSerialization><CSV/></OutputSerialization></SelectObjectContentRequest>",
        "<FieldDelimiter>;</FieldDelimiter>",
    ),
}  # fmt: skip
SHAPES: dict[str, tuple[str, xml.Shape]] = {
    "PutObjectTagging": ("Tagging", tagging.TAGGING),
    "PutBucketTagging": ("Tagging", tagging.TAGGING),
    "PutBucketVersioning": ("VersioningConfiguration", versioning.VERSIONING_CONFIGURATION),
    "PutBucketLifecycleConfiguration": ("LifecycleConfiguration", lifecycle.LIFECYCLE_CONFIGURATION),
    "PutObjectLockConfiguration": ("ObjectLockConfiguration", lock.OBJECT_LOCK_CONFIGURATION),
    "PutObjectRetention": ("Retention", lock.RETENTION),
    "PutObjectLegalHold": ("LegalHold", lock.LEGAL_HOLD),
    "PutBucketCors": ("CORSConfiguration", cors.CORS_CONFIGURATION),
    "PutBucketEncryption": ("ServerSideEncryptionConfiguration", sse.ENCRYPTION_CONFIGURATION),
    "PutBucketOwnershipControls": ("OwnershipControls", acls.OWNERSHIP_CONTROLS),
    "PutPublicAccessBlock": ("PublicAccessBlockConfiguration", acls.PUBLIC_ACCESS_BLOCK),
    "PutBucketAcl": ("AccessControlPolicy", acls.ACCESS_CONTROL_POLICY),
    "PutObjectAcl": ("AccessControlPolicy", acls.ACCESS_CONTROL_POLICY),
    "DeleteObjects": ("Delete", objects.DELETE),
    "CompleteMultipartUpload": ("CompleteMultipartUpload", multipart.COMPLETE_MULTIPART_UPLOAD),
    "SelectObjectContent": (request.ROOT, request.REQUEST),
}
UNIMPLEMENTED = {  # an element S3 defines, at {x} of a document
    "DefaultEventHold": ("PutObjectLockConfiguration", "<DefaultEventHold><Days>1</Days></DefaultEventHold>"),
    "EventHold": ("PutObjectRetention", "<EventHold>ON</EventHold>"),
    "BlockedEncryptionTypes": (
        "PutBucketEncryption", "<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>"
    ),
    "ChecksumSHA512": ("CompleteMultipartUpload", "<ChecksumSHA512>AAAA</ChecksumSHA512>"),
}  # fmt: skip


@pytest.fixture(scope="module")
def lock_bucket(s3: Any) -> str:
    """A bucket with object lock (every document applies to it) holding "obj"; left behind, as lock buckets are."""
    name = f"shapes-{next(_names)}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=name, Key="obj", Body=b"a,b\n")
    return name


def _send(server: S3dProcess, bucket: str, doc: Document, extra: str) -> RawResponse:
    body = doc.template.replace("{x}", extra).encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    return call(server, doc.method, f"/{bucket}{doc.path}", query=doc.query, body=body, headers={"Content-MD5": md5})


@pytest.mark.parametrize("operation", sorted(DOCUMENTS))
def test_unknown_element_is_malformed(server: S3dProcess, lock_bucket: str, operation: str) -> None:
    doc = DOCUMENTS[operation]
    r = _send(server, lock_bucket, doc, "<Bogus/>")
    assert (r.status, r.error_code) == (400, doc.code)


@pytest.mark.parametrize("operation", sorted(DOCUMENTS))
def test_second_copy_of_a_single_element_is_malformed(server: S3dProcess, lock_bucket: str, operation: str) -> None:
    doc = DOCUMENTS[operation]
    r = _send(server, lock_bucket, doc, doc.repeat)
    assert (r.status, r.error_code) == (400, doc.code)


@pytest.mark.parametrize("element", sorted(UNIMPLEMENTED))
def test_element_s3d_does_not_implement_is_501(server: S3dProcess, lock_bucket: str, element: str) -> None:
    operation, extra = UNIMPLEMENTED[element]
    r = _send(server, lock_bucket, DOCUMENTS[operation], extra)
    assert (r.status, r.error_code) == (501, "NotImplemented")


def test_element_inside_a_text_element_is_malformed(server: S3dProcess, lock_bucket: str) -> None:
    body = b"<Tagging><TagSet><Tag><Key><b/>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
    r = call(server, "PUT", f"/{lock_bucket}/obj", query="tagging", body=body)
    assert (r.status, r.error_code) == (400, "MalformedXML")


def test_the_attack_report_tagging_document_is_malformed(server: S3dProcess, lock_bucket: str) -> None:
    body = (
        b"<Tagging><TagSet><Tag><Key>k</Key><Key>k2</Key><Value>v</Value><Value>v2</Value></Tag></TagSet>"
        b"<TagSet><Tag><Key>other</Key><Value>v</Value></Tag></TagSet><Bogus/></Tagging>"
    )
    r = call(server, "PUT", f"/{lock_bucket}/obj", query="tagging", body=body)
    assert (r.status, r.error_code) == (400, "MalformedXML")
    assert call(server, "GET", f"/{lock_bucket}/obj", query="tagging").xml().find(".//{*}Tag") is None


# ---------- the shapes against botocore's model of S3 ----------
MODEL = botocore.session.get_session().get_service_model("s3")
UNSUPPORTED = "refused"
Tree = dict[str, tuple[bool, Any]]  # element -> (repeated, its tree; None for text; UNSUPPORTED)


def _model_node(shape: Any) -> Tree | None:
    return _model_tree(shape) or None if shape.type_name == "structure" else None


def _model_tree(shape: Any) -> Tree:
    tree: Tree = {}
    for name, member in shape.members.items():
        ser = member.serialization
        if ser.get("location") or ser.get("xmlAttribute"):
            continue  # a header, a query parameter, a URI part, an attribute: not an element
        element = ser.get("name", name)
        if member.type_name != "list":
            tree[element] = (False, _model_node(member))
        elif ser.get("flattened"):
            tree[element] = (True, _model_node(member.member))
        else:
            item = member.member.serialization.get("name", "member")
            tree[element] = (False, {item: (True, _model_node(member.member))})
    return tree


def _model_document(operation: str) -> tuple[str, Tree]:
    """The root element and tree of the XML document an operation's request carries ("", {} for none)."""
    shape = MODEL.operation_model(operation).input_shape
    if shape is None:
        return "", {}
    payload = shape.serialization.get("payload")
    if payload is None:  # the input itself is the document (SelectObjectContent), if it has elements
        return shape.serialization.get("name", ""), _model_tree(shape)
    member = shape.members[payload]
    if member.type_name != "structure":
        return "", {}  # a body of bytes (PutObject)
    return member.serialization.get("name", payload), _model_tree(member)


def _ours(shape: xml.Shape) -> Tree:
    return {
        name: (inner.repeated, UNSUPPORTED if inner.unsupported else (_ours(inner) or None))
        for name, inner in shape.children.items()
    }


def _differences(model: Tree | None, ours: Tree | None, at: str) -> list[str]:
    if model is None or ours is None:
        return [] if model is ours else [f"{at}: text in {'s3d' if ours is None else 'the model'} only"]
    out = [f"{at}/{name}: only in the model" for name in model.keys() - ours.keys()]
    out += [f"{at}/{name}: only in s3d" for name in ours.keys() - model.keys()]
    for name in model.keys() & ours.keys():
        (repeated, sub), (our_repeated, our_sub) = model[name], ours[name]
        if repeated != our_repeated:
            out.append(f"{at}/{name}: repeated in {'the model' if repeated else 's3d'} only")
        if our_sub != UNSUPPORTED:
            out += _differences(sub, our_sub, f"{at}/{name}")
    return out


@pytest.mark.parametrize("operation", sorted(SHAPES))
def test_shape_is_the_model_s(operation: str) -> None:
    root, shape = SHAPES[operation]
    model_root, model = _model_document(operation)
    assert root == model_root
    assert _differences(model, _ours(shape), root) == []


def test_every_implemented_operation_with_a_document_has_a_shape() -> None:
    from s3d.s3.handlers import HANDLERS

    with_documents = {op for op in HANDLERS if op in MODEL.operation_names and _model_document(op)[1]}
    assert with_documents - set(SHAPES) <= {"CreateBucket"}  # CreateBucketConfiguration: checked in buckets.py
