"""Where DuckDB writes the result: a write-only filesystem whose one file hands each write to a callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fsspec.spec import AbstractFileSystem  # type: ignore[import-untyped]

PROTOCOL = "s3dresult"
URL = f"{PROTOCOL}://result"


class _SinkFile:
    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self.written = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._write(chunk)
        self.written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


class SinkFileSystem(AbstractFileSystem):  # type: ignore[misc]
    protocol = PROTOCOL

    def __init__(self, write: Callable[[bytes], None]) -> None:
        super().__init__(skip_instance_cache=True)
        self._file = _SinkFile(write)

    def _open(self, path: str, mode: str = "rb", **_kwargs: Any) -> _SinkFile:
        if "w" not in mode:
            raise PermissionError("write only")
        return self._file

    def info(self, path: str, **_kwargs: Any) -> dict[str, Any]:
        return {"name": path, "size": self._file.written, "type": "file"}

    def exists(self, path: str, **_kwargs: Any) -> bool:
        return False

    def mkdir(self, path: str, create_parents: bool = True, **_kwargs: Any) -> None:
        return None

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        return None
