"""Property-based tests of xml.conform, in-process: a document written to its shape passes; the same document
with an unknown element, or a second copy of an element its shape does not repeat, is MalformedXML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from s3d.s3 import xml
from s3d.s3.errors import S3Error
from s3d.s3.handlers import acls, cors, lifecycle, lock, multipart, objects, sse, tagging, versioning
from s3d.s3.select import request

SHAPES = {
    "Tagging": tagging.TAGGING,
    "VersioningConfiguration": versioning.VERSIONING_CONFIGURATION,
    "LifecycleConfiguration": lifecycle.LIFECYCLE_CONFIGURATION,
    "ObjectLockConfiguration": lock.OBJECT_LOCK_CONFIGURATION,
    "Retention": lock.RETENTION,
    "LegalHold": lock.LEGAL_HOLD,
    "CORSConfiguration": cors.CORS_CONFIGURATION,
    "ServerSideEncryptionConfiguration": sse.ENCRYPTION_CONFIGURATION,
    "OwnershipControls": acls.OWNERSHIP_CONTROLS,
    "PublicAccessBlockConfiguration": acls.PUBLIC_ACCESS_BLOCK,
    "AccessControlPolicy": acls.ACCESS_CONTROL_POLICY,
    "Delete": objects.DELETE,
    "CompleteMultipartUpload": multipart.COMPLETE_MULTIPART_UPLOAD,
    request.ROOT: request.REQUEST,
}
MAX_COPIES = 3


@st.composite
def documents(draw: st.DrawFn, name: str, shape: xml.Shape) -> ET.Element:
    """An element written to its shape: each child present or not, a repeatable one up to three times."""
    el = ET.Element(name)
    for child, inner in shape.children.items():
        if inner.unsupported:
            continue
        copies = draw(st.integers(0, MAX_COPIES if inner.repeated else 1))
        el.extend(draw(documents(child, inner)) for _ in range(copies))
    if not shape.children:
        el.text = draw(st.text(max_size=5))
    return el


def _elements(el: ET.Element, shape: xml.Shape) -> list[tuple[ET.Element, xml.Shape]]:
    """Every element of a document with its shape, the root first."""
    out = [(el, shape)]
    for child in el:
        out += _elements(child, shape.children[child.tag])
    return out


def _malformed(root: ET.Element, name: str) -> bool:
    try:
        xml.conform(root, name, SHAPES[name])
    except S3Error as e:
        assert e.code == "MalformedXML"
        return True
    return False


named_documents = st.sampled_from(sorted(SHAPES)).flatmap(lambda n: st.tuples(st.just(n), documents(n, SHAPES[n])))


@given(named_documents)
def test_a_document_written_to_its_shape_conforms(doc: tuple[str, ET.Element]) -> None:
    name, root = doc
    assert not _malformed(root, name)


@given(named_documents, st.data())
def test_an_unknown_element_anywhere_is_malformed(doc: tuple[str, ET.Element], data: st.DataObject) -> None:
    name, root = doc
    parent, _ = data.draw(st.sampled_from(_elements(root, SHAPES[name])))
    parent.append(ET.Element("Bogus"))
    assert _malformed(root, name)


@given(named_documents, st.data())
def test_a_second_copy_of_a_single_element_is_malformed(doc: tuple[str, ET.Element], data: st.DataObject) -> None:
    name, root = doc
    single = [
        (child, parent)
        for parent, shape in _elements(root, SHAPES[name])
        for child in parent
        if not shape.children[child.tag].repeated
    ]
    if single:
        child, parent = data.draw(st.sampled_from(single))
        parent.append(child)  # the same element once more
        assert _malformed(root, name)
