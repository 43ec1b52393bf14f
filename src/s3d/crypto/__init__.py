"""Encryption at rest: the segmented AES-256-GCM format (segments.py) and the keys (keys.py).

Nothing here knows about S3 or HTTP: the S3 layer (s3/handlers/sse.py) turns request headers into
a key to encrypt with, and the data path hands plaintext in and gets ciphertext out.
"""
