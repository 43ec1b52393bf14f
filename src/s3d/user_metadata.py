"""User metadata (``x-amz-meta-*``): values read as S3 reads them, and written back as S3 writes them.

AWS: "When using non US-ASCII characters in your metadata values, the provided unicode string is examined for
non US-ASCII characters. Values of such headers are character decoded as per RFC 2047 before storing and encoded
as per RFC 2047 to make them mail-safe before returning." So:

- A value is stored decoded: each RFC 2047 encoded-word in it (``=?UTF-8?B?w6k=?=``, ``=?UTF-8?Q?=C3=A9?=``)
  becomes the text it encodes; whitespace between two adjacent encoded-words is dropped (RFC 2047 section 6.2),
  every other character is kept as sent. An encoded-word is a whitespace-delimited token that starts with ``=?``
  and ends with ``?=``; one that does not parse (unknown charset or encoding, bad base64 or ``=XX``, bytes that
  are not text in its charset, an empty text) is kept as its literal characters, as AWS (like JavaMail's
  lenient decoder) stores it: a client that never meant it as an encoded-word gets its text back.
- A header's raw bytes outside US-ASCII are read as ISO-8859-1, one character per byte, as AWS's documented
  example reads them: ``ÄMÄZÕÑ S3`` sent as raw UTF-8 comes back as ``=?UTF-8?B?w4PChE3Dg8KE...?=``, the UTF-8
  of those bytes' ISO-8859-1 reading. A client that wants non-ASCII text stored sends it encoded (botocore
  refuses non-ASCII metadata outright). A POST form's fields are text already (UTF-8, the form's encoding).
- A value is answered as stored when it is printable US-ASCII that reads back as itself; any other value is
  answered as one ``=?UTF-8?B?...?=`` encoded-word, as AWS (and LocalStack) answer: ``read(encode(v)) == v``.
- The 2 KB limit counts the UTF-8 bytes of every name (without ``x-amz-meta-``) and decoded value, as AWS
  counts them.

The parser is a single forward scan (no regular expression, no backtracking): linear in the value's length.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping

PREFIX = "x-amz-meta-"
MAX_SIZE = 2048  # bytes: UTF-8 of the names (without PREFIX) and decoded values together
WORD_START, WORD_END, SEPARATOR = "=?", "?=", "?"
LANGUAGE = "*"  # RFC 2231: =?charset*language?...
WHITESPACE = " \t"  # what separates words in a header value
ENCODED_PREFIX = "=?UTF-8?B?"  # the one form answered
BASE64_PAD = "="
BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
Q_SPACE, Q_ESCAPE = "_", "="
PRINTABLE_FIRST, PRINTABLE_LAST = " ", "~"  # printable US-ASCII
TAB = "\t"
TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")  # RFC 9110
# the charsets an encoded-word may name (case-insensitively), and the codec that reads each
CHARSETS = {
    "utf-8": "utf-8",
    "us-ascii": "ascii",
    "iso-8859-1": "latin-1",
    "iso-8859-15": "iso8859-15",
    "windows-1252": "cp1252",
}
B_ENCODING, Q_ENCODING = "b", "q"

# docs/compatibility.md, "User metadata": (what a request or response carries, what s3d does with it)
COMPATIBILITY = (
    ("an RFC 2047 encoded-word in a value (`=?UTF-8?B?...?=`, `=?UTF-8?Q?...?=`)",
     f"decoded before storing, as AWS decodes it; charsets {', '.join(CHARSETS)}. Whitespace between two "
     "encoded-words is dropped, all other text kept as sent"),
    ("a malformed encoded-word (a token `=?...?=` that does not decode)",
     "kept as its literal characters, as AWS stores it, and answered as sent"),
    ("raw bytes outside US-ASCII in a header value",
     "read as ISO-8859-1, one character per byte, as AWS's documented example reads them: raw UTF-8 `ÄMÄZÕÑ S3` "
     "is stored as the ISO-8859-1 reading of its bytes and answered `=?UTF-8?B?w4PChE3Dg8KEWsODwpXDg8KRIFMz?=`. "
     "Send non-ASCII text RFC 2047 encoded (botocore refuses non-ASCII metadata)"),
    ("a POST form's `x-amz-meta-*` field",
     "its text (the form is UTF-8), decoded the same way; a control character but tab, or a name that is not an "
     "HTTP token: 400 InvalidArgument"),
    ("a stored value on GET / HEAD",
     "as stored when it is printable US-ASCII that reads back as itself; else one `=?UTF-8?B?...?=` encoded-word "
     "of its UTF-8, as AWS answers. Gateway mode ships the encoded form to the remote and decodes what it reads back"),
    ("the size limit",
     f"{MAX_SIZE} bytes: the UTF-8 of every name (without `x-amz-meta-`) and decoded value, as AWS counts; "
     "beyond: 400 MetadataTooLarge"),
)  # fmt: skip


class MetadataError(ValueError):
    """A user metadata field S3 refuses; ``code`` is S3's error code for it."""

    code = "InvalidArgument"

    def __init__(self, message: str, name: str = "", value: str = "") -> None:
        super().__init__(message)
        self.message, self.name, self.value = message, name, value


class MalformedEncodedWord(MetadataError):
    """A token shaped like an RFC 2047 encoded-word that does not decode: the only error ``decode`` raises."""


class TooLarge(MetadataError):
    code = "MetadataTooLarge"

    def __init__(self, size: int) -> None:
        super().__init__(f"Your metadata headers exceed the maximum allowed metadata size ({size} > {MAX_SIZE} bytes).")
        self.size = size


# ---------- decoding ----------
def _runs(value: str) -> Iterator[tuple[str, str]]:
    """(whitespace before, token) for each whitespace-delimited token, then ("trailing whitespace", "")."""
    i, n = 0, len(value)
    while True:
        j = i
        while j < n and value[j] in WHITESPACE:
            j += 1
        k = j
        while k < n and value[k] not in WHITESPACE:
            k += 1
        yield value[i:j], value[j:k]
        if k == n:
            return
        i = k


def is_encoded_word(token: str) -> bool:
    """Whether a token has an encoded-word's shape (``=?...?=``): it then decodes or is refused."""
    return len(token) >= len(WORD_START) + len(WORD_END) and token.startswith(WORD_START) and token.endswith(WORD_END)


def decode(value: str, strict: bool = True) -> str:
    """``value`` with its RFC 2047 encoded-words decoded. One that does not decode: MalformedEncodedWord, or
    (not ``strict``) kept as its literal characters, as AWS stores it."""
    if WORD_START not in value:
        return value
    out: list[str] = []
    after_word = False
    for space, token in _runs(value):
        word: str | None = None
        if token and is_encoded_word(token):
            try:
                word = _decode_words(token)
            except MalformedEncodedWord:
                if strict:
                    raise
        if word is not None:
            if not after_word:
                out.append(space)  # whitespace between two encoded-words is dropped, any other kept
            out.append(word)
            after_word = True
        else:
            out += (space, token)
            after_word = False
    return "".join(out)


def read(value: str) -> str:
    """A value as S3 stores it: encoded-words decoded, a malformed one kept as its literal characters."""
    return decode(value, strict=False)


def _decode_words(token: str) -> str:
    """One token made of encoded-words (``=?a?B?x?==?a?Q?y?=`` is two, written without the space)."""
    out: list[str] = []
    pos = 0
    while pos < len(token):
        if not token.startswith(WORD_START, pos):
            raise _malformed(token, "text follows an encoded-word in the same token")
        charset_end = token.find(SEPARATOR, pos + len(WORD_START))
        encoding_end = token.find(SEPARATOR, charset_end + 1) if charset_end >= 0 else -1
        text_end = token.find(WORD_END, encoding_end + 1) if encoding_end >= 0 else -1
        if text_end < 0:
            raise _malformed(token, "an encoded-word is =?charset?encoding?text?=")
        charset = token[pos + len(WORD_START) : charset_end]
        encoding = token[charset_end + 1 : encoding_end]
        out.append(_decode_word(token, charset, encoding, token[encoding_end + 1 : text_end]))
        pos = text_end + len(WORD_END)
    return "".join(out)


def _decode_word(token: str, charset: str, encoding: str, text: str) -> str:
    codec = CHARSETS.get(charset.partition(LANGUAGE)[0].lower())
    if codec is None:
        raise _malformed(token, f"charset {charset!r} is not one of {', '.join(CHARSETS)}")
    if not text:
        raise _malformed(token, "an encoded-word's text is not empty")
    kind = encoding.lower()
    if kind == B_ENCODING:
        raw = _base64(token, text)
    elif kind == Q_ENCODING:
        raw = _quoted(token, text)
    else:
        raise _malformed(token, f"encoding {encoding!r} is neither B nor Q")
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise _malformed(token, f"the bytes are not {charset} text") from None


def _base64(token: str, text: str) -> bytes:
    body = text.rstrip(BASE64_PAD)
    if len(text) % 4 or len(text) - len(body) > 2 or not all(c in BASE64_CHARS for c in body):
        raise _malformed(token, "the B encoding's text is not base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise _malformed(token, "the B encoding's text is not base64") from None


def _quoted(token: str, text: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == Q_ESCAPE:
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or not all(h in HEX_DIGITS for h in pair):
                raise _malformed(token, "= in the Q encoding is not followed by two hex digits")
            out.append(int(pair, 16))
            i += 3
            continue
        if c == Q_SPACE:
            out.append(ord(" "))
        elif PRINTABLE_FIRST < c <= PRINTABLE_LAST and c != SEPARATOR:
            out.append(ord(c))
        else:
            raise _malformed(token, f"{c!r} cannot appear in the Q encoding")
        i += 1
    return bytes(out)


def _malformed(token: str, why: str) -> MalformedEncodedWord:
    return MalformedEncodedWord(f"The metadata value holds a malformed RFC 2047 encoded-word: {why}.", value=token)


# ---------- encoding ----------
def _plain(value: str) -> bool:
    """Whether a value can be answered as it is: printable US-ASCII, no edge whitespace, read back unchanged."""
    # str.isprintable on US-ASCII is exactly ' '..'~' (the GET path answers every value through here)
    if not (value.isascii() and value.isprintable()) or value != value.strip(WHITESPACE):
        return False
    return WORD_START not in value or read(value) == value


def encode(value: str) -> str:
    """A stored value as a header carries it: itself if plain US-ASCII, else one UTF-8 B encoded-word."""
    if _plain(value):
        return value
    return ENCODED_PREFIX + base64.b64encode(value.encode()).decode("ascii") + WORD_END


def encoded(meta: Mapping[str, str]) -> dict[str, str]:
    """``meta`` with every user metadata value encoded (the other entries as they are)."""
    return {k: encode(v) if k.startswith(PREFIX) else v for k, v in meta.items()}


def decoded(meta: Mapping[str, str]) -> dict[str, str]:
    """``meta`` as read back from another S3: user metadata values decoded; a value that does not decode is
    kept as it came (it is that server's answer, not a request to refuse)."""
    return {k: read(v) if k.startswith(PREFIX) else v for k, v in meta.items()}


# ---------- a request's user metadata ----------
def _raw_ok(value: str) -> bool:
    """No control character but tab: nothing a header could not carry (a POST form's field could)."""
    return all(c == TAB or (c >= PRINTABLE_FIRST and c != "\x7f") for c in value)


def user_metadata_of(fields: Mapping[str, str]) -> dict[str, str]:
    """The ``x-amz-meta-*`` entries of a request's headers (or a POST form's fields), decoded.

    Names are lowercase already (the HTTP layer and the form reader lower them). MetadataError if a name is not
    an HTTP token, a raw value holds a control character, or the whole is over
    MAX_SIZE bytes.
    """
    meta: dict[str, str] = {}
    size = 0
    for k, raw in fields.items():
        if not k.startswith(PREFIX):
            continue
        name = k[len(PREFIX) :]
        if not all(c in TOKEN_CHARS for c in name):
            raise MetadataError(f"The metadata name {k!r} is not a valid header name.", k, raw)
        if not _raw_ok(raw):
            raise MetadataError(f"The metadata value of {k} holds a control character.", k, raw)
        value = read(raw)
        meta[k] = value
        size += len(name.encode()) + len(value.encode())
    if size > MAX_SIZE:
        raise TooLarge(size)
    return meta
