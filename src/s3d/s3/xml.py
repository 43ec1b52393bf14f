"""Rendering S3 XML responses and parsing S3 XML request bodies."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from s3d.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

Node = tuple[str, "str | int | bool | None | list[Node]"]
# characters outside XML 1.0's Char production: no document (not even as &#...;) can carry them
NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"


def carries(value: str) -> bool:
    """Whether an XML 1.0 document can hold ``value`` as text."""
    return NOT_XML_CHAR.search(value) is None


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
