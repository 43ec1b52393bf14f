"""Hypothesis strategies for untrusted input: header-ish strings, numbers in every bad shape, XML and JSON documents."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import strategies as st

# numbers as a client could write them: fine, negative, huge, non-ASCII digits, hex, floats, blank
NASTY_NUMBERS = [
    "0", "1", "-1", "007", " 5", "5 ", "1e3", "0x10", "1.5", "", "+1", "\u0665", "\u00b2", "\uff11",
    "9" * 19, "9" * 20, "9" * 4301, "18446744073709551616", "2147483648", "NaN", "inf",
]  # fmt: skip
NASTY_STRINGS = ["", " ", "\x00", "%00", "%", "%zz", "\u00e9", "\ufffe", "a" * 9000, "*", ",", ";", "=", '"', "\r\n"]

numbers = st.one_of(st.sampled_from(NASTY_NUMBERS), st.integers(-(2**70), 2**70).map(str))
header_text = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=80)  # what latin-1 decoding gives
values = st.one_of(numbers, st.sampled_from(NASTY_STRINGS), header_text, st.text(max_size=40))

XML_TAGS = [
    "Delete", "Object", "Key", "VersionId", "Quiet", "Tagging", "TagSet", "Tag", "Value", "CORSConfiguration",
    "CORSRule", "ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds",
    "CompleteMultipartUpload", "Part", "PartNumber", "ETag", "ChecksumCRC32", "ChecksumCRC64NVME", "ChecksumSHA256",
    "CreateBucketConfiguration", "LocationConstraint", "Bucket", "Other", "LifecycleConfiguration", "Rule", "Status",
    "Filter", "And", "Expiration", "Days", "SelectObjectContentRequest", "Expression", "InputSerialization", "CSV",
]  # fmt: skip


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, inner: f"<{tag}>{''.join(inner)}</{tag}>",
        st.sampled_from(XML_TAGS),
        st.lists(children, max_size=5),
    )


xml_text = st.one_of(values, st.text(max_size=20)).map(lambda s: escape(s))
xml_elements = st.recursive(xml_text, _element, max_leaves=25)
xml_documents = st.one_of(
    st.builds(lambda root, ns: root.replace(">", f' xmlns="{ns}">', 1), xml_elements, st.sampled_from(["", "urn:x"])),
    st.builds(
        lambda enc, doc: f'<?xml version="1.0" encoding="{enc}"?>' + doc,
        st.one_of(st.sampled_from(["UTF-8", "utf-16", "latin-1", "EBCDIC-XX", "", "ascii"]), values),
        xml_elements,
    ),
)
xml_bytes = st.one_of(
    xml_documents.map(lambda d: d.encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
    st.builds(lambda d, cut: d.encode()[:cut], xml_documents, st.integers(0, 200)),
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), values),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(values, inner, max_size=5)),
    max_leaves=20,
)
CONDITION_OPS = ["eq", "starts-with", "content-length-range", "EQ", "other", ""]
conditions = st.one_of(
    st.builds(lambda op, a, b: [op, a, b], st.sampled_from(CONDITION_OPS), json_values, json_values),
    st.dictionaries(values, json_values, max_size=3),
    json_values,
)
VALID_EXPIRATION = "2099-01-01T00:00:00Z"
# a policy that gets past its expiration check, so its conditions are what is tested
live_policies = st.fixed_dictionaries(
    {"expiration": st.just(VALID_EXPIRATION), "conditions": st.one_of(st.lists(conditions, max_size=6), json_values)}
)
policies = st.one_of(
    st.fixed_dictionaries(
        {"expiration": st.one_of(st.just(VALID_EXPIRATION), values, json_values)},
        optional={"conditions": st.one_of(st.lists(conditions, max_size=6), json_values)},
    ),
    json_values,
)


def json_text(v: Any) -> str:
    return json.dumps(v)
