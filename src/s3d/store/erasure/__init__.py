"""Erasure-coded blobs over several drives (docs/erasure.md): another BlobStore beside the one-directory BlobDir."""
