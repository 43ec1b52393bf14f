"""A streaming multipart/form-data reader for browser POST uploads.

Form fields before the file are small and kept in memory; the file part is
streamed out chunk by chunk, so a large upload never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from s3d.s3.errors import S3Error
from s3d.server.http import BodyError

MAX_FIELDS_BYTES = 1 << 20
MAX_HEADER_BYTES = 16 * 1024


def boundary_of(content_type: str) -> bytes:
    ctype, _, params = content_type.partition(";")
    if ctype.strip().lower() != "multipart/form-data":
        raise S3Error("PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data", status=412)
    for p in params.split(";"):
        k, _, v = p.strip().partition("=")
        if k.lower() == "boundary" and v:
            return v.strip('"').encode()
    raise S3Error("MalformedPOSTRequest")


def _disposition(headers: bytes) -> tuple[str, str | None, str]:
    name, filename, ctype = "", None, ""
    for line in headers.split(b"\r\n"):
        k, _, v = line.decode("utf-8", "replace").partition(":")
        k = k.strip().lower()
        if k == "content-disposition":
            for item in v.split(";")[1:]:
                ik, _, iv = item.strip().partition("=")
                iv = iv.strip().strip('"')
                if ik.lower() == "name":
                    name = iv
                elif ik.lower() == "filename":
                    filename = iv
        elif k == "content-type":
            ctype = v.strip()
    if not name:
        raise S3Error("MalformedPOSTRequest")
    return name, filename, ctype


class FormReader:
    """Reads fields until the part named ``file``; then ``file_chunks()`` streams its content."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: bytes) -> None:
        self.chunks = chunks
        self.delim = b"\r\n--" + boundary
        self.buf = bytearray(b"\r\n")  # so the first boundary looks like every other one
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_content_type = ""
        self.eof = False

    async def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            c = await self.chunks.__anext__()
        except StopAsyncIteration:
            self.eof = True
            return False
        except BodyError:
            raise S3Error("IncompleteBody") from None
        self.buf += c
        return True

    async def _until(self, marker: bytes, limit: int) -> bytes:
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[: i + len(marker)]
                return out
            if len(self.buf) > limit or not await self._fill():
                raise S3Error("MalformedPOSTRequest")

    async def read_fields(self) -> None:
        """Parse parts up to the file part. After this, the file's content is next in the stream."""
        await self._until(self.delim, MAX_FIELDS_BYTES)
        total = 0
        while True:
            while len(self.buf) < 2 and await self._fill():
                pass
            if self.buf[:2] == b"--":
                raise S3Error(
                    "InvalidArgument",
                    "POST requires exactly one file upload per request.",
                    extra={"ArgumentName": "file"},
                )
            await self._until(b"\r\n", MAX_HEADER_BYTES)  # rest of the boundary line
            headers = await self._until(b"\r\n\r\n", MAX_HEADER_BYTES)
            name, filename, ctype = _disposition(headers)
            if name.lower() == "file":
                self.filename = filename or ""
                self.file_content_type = ctype
                return
            value = await self._until(self.delim, MAX_FIELDS_BYTES)
            total += len(value)
            if total > MAX_FIELDS_BYTES:
                raise S3Error(
                    "MaxPostPreDataLengthExceeded",
                    "Your POST request fields preceeding the upload file was too large.",
                    status=400,
                )
            self.fields.setdefault(name.lower(), value.decode("utf-8", "replace"))

    async def file_chunks(self) -> AsyncIterator[bytes]:
        keep = len(self.delim)
        while True:
            i = self.buf.find(self.delim)
            if i >= 0:
                if i:
                    yield bytes(self.buf[:i])
                del self.buf[: i + keep]
                return
            if len(self.buf) > keep:
                out = bytes(self.buf[:-keep])
                del self.buf[:-keep]
                yield out
            if not await self._fill():
                raise S3Error("IncompleteBody", "The POST body ended inside the file part")
