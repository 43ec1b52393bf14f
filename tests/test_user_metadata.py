"""User metadata values (s3d/user_metadata.py): RFC 2047 decoding on the way in, encoding on the way out."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.user_metadata import (
    MAX_SIZE,
    MalformedEncodedWord,
    MetadataError,
    TooLarge,
    decode,
    decoded,
    encode,
    read,
    user_metadata_of,
)

PROPERTY = settings(max_examples=300, deadline=None)
# pieces an encoded-word is made of, so random values often come close to being one
WORDISH = st.lists(
    st.sampled_from(["=?", "?=", "?", "UTF-8", "utf-8", "ISO-8859-1", "x", "*en", "B", "q", "Q", "b", "w6k=", "QQ==",
                     "=C3", "=A9", "=", "_", " ", "\t", "a", "é", "\x84", "=3", "==", "+/", "=?UTF-8?B?", "=?UTF-8?Q?"]),
    max_size=20,
).map("".join)  # fmt: skip
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF).filter(lambda c: c != "\x7f"))

HANG_GUARD = 30  # seconds: far above a linear decode of these inputs, far below a quadratic one


@PROPERTY
@given(st.text())
def test_reading_the_encoded_value_gives_the_value(value: str) -> None:
    assert read(encode(value)) == value


@PROPERTY
@given(st.text())
def test_an_encoded_value_is_printable_ascii(value: str) -> None:
    out = encode(value)
    assert all(" " <= c <= "~" for c in out) and out == out.strip()


@PROPERTY
@given(st.one_of(st.text(), WORDISH, HEADER_TEXT))
def test_decode_raises_only_malformed_encoded_word(value: str) -> None:
    try:
        decode(value)
    except MalformedEncodedWord:
        pass


@PROPERTY
@given(
    st.dictionaries(
        st.one_of(st.text(max_size=12), st.just("x-amz-meta-").map(lambda p: p + "n")).map(
            lambda k: k if k.startswith("x-amz-meta-") else "x-amz-meta-" + k
        ),
        st.one_of(st.text(), WORDISH),
        max_size=4,
    )
)
def test_user_metadata_of_raises_only_metadata_errors(fields: dict[str, str]) -> None:  # fmt: skip
    try:
        meta = user_metadata_of(fields)
    except MetadataError:
        return
    assert set(meta) == set(fields)


@PROPERTY
@given(WORDISH)
def test_plain_ascii_that_reads_as_itself_is_answered_as_it_is(value: str) -> None:
    same = read(value) == value
    plain = value.isascii() and value.isprintable() and value == value.strip()
    assert (encode(value) == value) == (plain and same)


def test_aws_documented_example_raw_utf8_is_read_as_iso_8859_1() -> None:
    raw = "ÄMÄZÕÑ S3".encode().decode("latin-1")  # what the HTTP layer gives for the raw UTF-8 bytes
    meta = user_metadata_of({"x-amz-meta-nonascii": raw})
    assert encode(meta["x-amz-meta-nonascii"]) == "=?UTF-8?B?w4PChE3Dg8KEWsODwpXDg8KRIFMz?="


def test_aws_documented_examples_of_encoded_values() -> None:
    assert decode("=?UTF-8?B?SMOpbMOubw==?=") == "Hélîo"
    assert encode(decode("=?UTF-8?B?SMOpbMOubw==?=")) == "=?UTF-8?B?SMOpbMOubw==?="
    assert encode(decode("=?UTF-8?B?SGVsbG8=?=")) == "Hello"  # plain ASCII comes back as it is


@pytest.mark.parametrize(
    "raw, value",
    [
        ("=?UTF-8?Q?caf=C3=A9_au_lait?=", "café au lait"),
        ("=?utf-8?q?caf=c3=a9?=", "café"),
        ("=?ISO-8859-1?Q?caf=E9?=", "café"),
        ("=?UTF-8*en?B?w6k=?=", "é"),  # RFC 2231 language
        ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),  # whitespace between encoded-words is dropped
        ("=?UTF-8?B?w6k=?==?UTF-8?Q?=C3=A9?=", "éé"),  # two words in one token
        ("a =?UTF-8?B?w6k=?= b", "a é b"),  # whitespace beside text is kept
        ("plain  text\twith=?signs", "plain  text\twith=?signs"),  # no =?...?= token: text
        ("=?", "=?"),
        ("", ""),
    ],
)
def test_decode(raw: str, value: str) -> None:
    assert decode(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "=?UTF-7?B?w6k=?=",  # charset not supported
        "=?UTF-8?X?w6k=?=",  # neither B nor Q
        "=?UTF-8?B?w6k?=",  # base64 without its padding
        "=?UTF-8?B?w6!=?=",
        "=?UTF-8?B?/w==?=",  # 0xFF: not UTF-8
        "=?UTF-8?Q?=C3?=",  # half a character
        "=?UTF-8?Q?=G1?=",
        "=?UTF-8?Q?a=?=",
        "=?UTF-8?Q??=",  # empty text
        "=?UTF-8?B?=?=",
        "=?hello?=",
        "=??=",
        "x =?UTF-8?B?w6k=?=tail?=",
    ],
)
def test_a_malformed_encoded_word_is_stored_as_its_literal_characters(raw: str) -> None:
    with pytest.raises(MalformedEncodedWord):
        decode(raw)
    assert user_metadata_of({"x-amz-meta-m": raw}) == {"x-amz-meta-m": raw}
    assert encode(raw) == raw  # answered as sent, as AWS does


def test_only_the_malformed_word_of_a_value_is_kept_literally() -> None:
    assert read("=?UTF-8?B?w6k=?= =?bad?=") == "é =?bad?="


@pytest.mark.parametrize("value", ["=?UTF-8?B?w6k=?=", " lead", "trail ", "tab\there", "é", "line\nbreak", "\u20ac"])
def test_a_value_a_header_would_not_read_back_is_encoded(value: str) -> None:
    out = encode(value)
    assert out.startswith("=?UTF-8?B?") and decode(out) == value


@pytest.mark.timeout(HANG_GUARD)  # a backtracking decoder would run for hours on these
@pytest.mark.parametrize("adversarial", ["=?" * 100_000, "=?UTF-8?Q?" + "=" * 200_000 + "?=", "=?a?" * 100_000 + "?="])
def test_decoding_is_linear(adversarial: str) -> None:
    with pytest.raises(MalformedEncodedWord):
        decode(adversarial) if adversarial.endswith("?=") else decode(adversarial + "?=")


def test_size_counts_utf8_bytes_of_names_and_decoded_values() -> None:
    value = "é" * 1000  # 2000 bytes of UTF-8
    wire = "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="  # 2680 characters on the wire
    room = MAX_SIZE - 2000
    assert user_metadata_of({"x-amz-meta-" + "n" * room: wire})["x-amz-meta-" + "n" * room] == value
    with pytest.raises(TooLarge) as e:
        user_metadata_of({"x-amz-meta-" + "n" * (room + 1): wire})
    assert e.value.size == MAX_SIZE + 1


def test_only_user_metadata_is_read() -> None:
    assert user_metadata_of({"content-type": "=?bad?=", "x-amz-meta-a": "1"}) == {"x-amz-meta-a": "1"}


@pytest.mark.parametrize("name", ["x-amz-meta-a b", "x-amz-meta-é", "x-amz-meta-a:b"])
def test_a_name_that_is_no_header_name_is_refused(name: str) -> None:
    with pytest.raises(MetadataError) as e:
        user_metadata_of({name: "v"})
    assert e.value.code == "InvalidArgument"


@pytest.mark.parametrize("raw", ["v\r\nSet-Cookie: x=1", "nul\x00", "del\x7f"])
def test_a_raw_control_character_is_refused(raw: str) -> None:
    with pytest.raises(MetadataError):
        user_metadata_of({"x-amz-meta-m": raw})


def test_a_control_character_an_encoded_word_carries_is_kept() -> None:
    assert user_metadata_of({"x-amz-meta-m": "=?UTF-8?Q?a=0D=0Ab?="}) == {"x-amz-meta-m": "a\r\nb"}


def test_what_another_s3_answers_is_decoded_or_kept() -> None:
    got = decoded({"x-amz-meta-a": "=?UTF-8?B?w6k=?=", "x-amz-meta-b": "=?bad?=", "content-type": "=?UTF-8?B?w6k=?="})
    assert got == {"x-amz-meta-a": "é", "x-amz-meta-b": "=?bad?=", "content-type": "=?UTF-8?B?w6k=?="}
