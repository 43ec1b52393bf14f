"""What an upload to the remote reads from a stored blob, whichever BlobStore holds it."""

from __future__ import annotations

from functools import partial

from s3d.remote import Piece
from s3d.store.blobs import BlobStore


def blob_piece(blobs: BlobStore, blob: str, length: int, key: bytes | None = None) -> Piece:
    """The blob's first ``length`` bytes (plaintext ones, decrypted with ``key``), opened when the upload first
    reads them: FileNotFoundError then if the blob was replaced meanwhile (the shipper ships the new version)."""
    return Piece(source=partial(blobs.open_random, blob), length=length, key=key)
