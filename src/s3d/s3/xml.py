"""Rendering S3 XML responses and parsing S3 XML request bodies."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from s3d.object_keys import NOT_XML_CHAR, carries
from s3d.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

Node = tuple[str, "str | int | bool | None | list[Node]"]
REPLACEMENT = "\ufffd"


def iso8601(ts: float) -> str:
    d = datetime.fromtimestamp(ts, tz=UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _render(nodes: Iterable[Node], out: list[str]) -> None:
    for name, value in nodes:
        if value is None:
            continue
        if isinstance(value, list):
            out.append(f"<{name}>")
            _render(value, out)
            out.append(f"</{name}>")
        elif isinstance(value, bool):
            out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        else:
            s = str(value)
            if not carries(s):  # e.g. a request path echoed in an error document
                s = NOT_XML_CHAR.sub(REPLACEMENT, s)
            out.append(f"<{name}>{escape(s)}</{name}>")


def document(root: str, nodes: Iterable[Node], ns: bool = True) -> bytes:
    out = [HEAD, f'<{root} xmlns="{NS}">' if ns else f"<{root}>"]
    _render(nodes, out)
    out.append(f"</{root}>")
    return "".join(out).encode()


def error_document(code: str, message: str, resource: str, request_id: str, extra: dict[str, str]) -> bytes:
    nodes: list[Node] = [("Code", code), ("Message", message)]
    nodes += [(k, v) for k, v in extra.items()]
    if resource:
        nodes.append(("Resource", resource))
    nodes.append(("RequestId", request_id))
    return document("Error", nodes, ns=False)


def parse(body: bytes) -> ET.Element:
    """Parse a request body, dropping XML namespaces from tag names."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise S3Error("MalformedXML")
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, LookupError, ValueError):  # LookupError: an unknown encoding= in the declaration
        raise S3Error("MalformedXML") from None
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


XS_BOOLEAN = {"true": True, "1": True, "false": False, "0": False}


def boolean(el: ET.Element, name: str, default: bool) -> bool:
    """An xs:boolean child element (true, false, 1, 0); MalformedXML for any other value."""
    value = text(el, name)
    if value is None:
        return default
    found = XS_BOOLEAN.get(value.strip().lower())
    if found is None:
        raise S3Error("MalformedXML")
    return found


def text(el: ET.Element, name: str, default: str | None = None) -> str | None:
    child = el.find(name)
    if child is None:
        return default
    return child.text or ""


class Shape:
    """What an element of a request document may hold, as S3's API model gives it: the child elements it
    may have, each at most once unless its own shape is ``repeated``; an element with none listed holds
    text only. ``unsupported`` is why s3d refuses an element S3 defines (501 NotImplemented)."""

    __slots__ = ("children", "repeated", "unsupported")

    def __init__(
        self, children: dict[str, Shape] | None = None, *, repeated: bool = False, unsupported: str = ""
    ) -> None:
        self.children = children or {}
        self.repeated = repeated
        self.unsupported = unsupported

    def many(self) -> Shape:
        """This shape, as an element that may be given more than once (a Rule, a Tag, a Part)."""
        return Shape(self.children, repeated=True, unsupported=self.unsupported)


TEXT = Shape()  # an element holding text only, at most once
TEXTS = TEXT.many()  # an element holding text only, any number of times (AllowedOrigin)


def conform(root: ET.Element, name: str, shape: Shape, code: str = "MalformedXML", message: str | None = None) -> None:
    """Check a request document against its shape. 400 ``code`` (MalformedXML unless the document has its own)
    for a root other than ``name``, an element the shape does not name (AWS refuses what its schema lacks;
    nothing is silently dropped), an element given twice that S3 does not repeat (no "first one wins"), or an
    element inside text; 501 NotImplemented for an element S3 defines but s3d does not implement."""
    if root.tag != name or not _conforms(root, shape):
        raise S3Error(code, message)


def _conforms(el: ET.Element, shape: Shape) -> bool:
    seen: set[str] = set()
    for child in el:
        inner = shape.children.get(child.tag)
        if inner is None or (child.tag in seen and not inner.repeated):
            return False
        if inner.unsupported:
            raise S3Error("NotImplemented", inner.unsupported)
        seen.add(child.tag)
        if not _conforms(child, inner):
            return False
    return True
