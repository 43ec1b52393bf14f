"""The aws-chunked wire format: a request body read as lines and runs of bytes, and its lines parsed strictly.

An aws-chunked body is ``SIZE[;chunk-signature=SIG]\\r\\n DATA \\r\\n`` chunks, a final chunk of size 0, then
trailer lines ``name:value\\r\\n`` and an empty line. ``BodyReader`` hands a chunk's data on in the pieces the
connection delivered (a piece wholly inside a chunk goes on as the same bytes object), so nothing holds a
whole chunk, whatever size its header announces.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from s3d.s3.errors import S3Error
from s3d.server.http import Body, BodyError

MAX_LINE = 8192  # a chunk header or trailer line, without its CRLF
CRLF = b"\r\n"
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
MAX_SIZE_HEX_DIGITS = 16  # a chunk size beyond 64 bits is refused before it is converted
SIGNATURE_EXTENSION = "chunk-signature="


def _incomplete(message: str) -> S3Error:
    return S3Error("IncompleteBody", message)


class BodyReader:
    """A request body consumed as CRLF-terminated lines or as runs of a known length."""

    __slots__ = ("_pieces", "_piece", "_pos")

    def __init__(self, body: Body) -> None:
        self._pieces = body.__aiter__()
        self._piece = b""
        self._pos = 0

    async def _next_piece(self) -> bool:
        """Move on to the body's next piece (the current one must be used up); False at its end."""
        try:
            self._piece = await self._pieces.__anext__()
        except StopAsyncIteration:
            self._piece = b""
            return False
        except BodyError:
            raise _incomplete("The request body ended early") from None
        finally:
            self._pos = 0
        return True

    async def line(self) -> bytes:
        """The next line, without its CRLF; IncompleteBody past MAX_LINE bytes or at the body's end."""
        end = self._piece.find(CRLF, self._pos, self._pos + MAX_LINE + len(CRLF))
        if end < 0:
            return await self._line_across_pieces()
        found = self._piece[self._pos : end]
        self._pos = end + len(CRLF)
        return found

    async def _line_across_pieces(self) -> bytes:
        held = self._piece[self._pos :]
        while True:
            if len(held) > MAX_LINE + 1:  # + 1: its last byte may be the CR of a CRLF split between pieces
                raise _incomplete("An aws-chunked chunk header or trailer line is too long")
            if not await self._next_piece():
                raise _incomplete("The aws-chunked body ended inside a chunk header or trailer")
            window = held + self._piece[: MAX_LINE + len(CRLF) - len(held)]
            end = window.find(CRLF)
            if end >= 0:
                self._pos = end + len(CRLF) - len(held)
                return window[:end]
            held = window

    async def run(self, length: int) -> AsyncIterator[bytes]:
        """The next ``length`` bytes, in the pieces they arrived in; IncompleteBody if the body ends first."""
        while length:
            if self._pos >= len(self._piece) and not await self._next_piece():
                raise _incomplete("The aws-chunked body ended inside a chunk")
            take = min(length, len(self._piece) - self._pos)
            whole = self._pos == 0 and take == len(self._piece)
            yield self._piece if whole else self._piece[self._pos : self._pos + take]
            self._pos += take
            length -= take

    async def at_end(self) -> bool:
        """Whether nothing follows what was read (waits for the body's end)."""
        return self._pos >= len(self._piece) and not await self._next_piece()


def parse_chunk_header(line: bytes, signed: bool) -> tuple[int, str | None]:
    """(size, chunk signature) of ``SIZE[;extension]``: SIZE is hex digits only, the signature is required in
    signed streaming and any other extension ignored (RFC 9112 chunk extensions)."""
    size_part, sep, extension = line.partition(b";")
    if not size_part or len(size_part) > MAX_SIZE_HEX_DIGITS or not HEX_DIGITS.issuperset(size_part):
        raise _incomplete("Malformed aws-chunked chunk size")
    ext = extension.decode("latin-1")
    signature = ext[len(SIGNATURE_EXTENSION) :] if sep and ext.startswith(SIGNATURE_EXTENSION) else None
    if signed and signature is None:
        raise S3Error("SignatureDoesNotMatch", "Chunk signature is missing")
    return int(size_part, 16), signature


def parse_trailer(line: bytes) -> tuple[str, str]:
    """(lower-case name, value) of a ``name:value`` trailer line; MalformedTrailerError without a colon."""
    name, colon, value = line.decode("latin-1").partition(":")
    if not colon or not name.strip():
        raise S3Error("MalformedTrailerError")
    return name.strip().lower(), value.strip()
