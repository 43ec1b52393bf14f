"""Keeps secrets out of log lines: configured secret keys, signatures, authorization values, tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
# Signature=<hex> (SigV4 Authorization header), X-Amz-Signature=<hex> and Signature=<base64> (presigned URLs),
# the whole value of an Authorization header, session tokens, credentials in URLs
_PATTERNS = [
    re.compile(r"(?i)((?:x-amz-)?signature[\"']?\s*[=:]\s*[\"']?)[^&\s,\"'}]+"),
    re.compile(r"(?i)(authorization[\"']?\s*[=:]\s*[\"']?)[^\"'\n}]+"),
    re.compile(
        r"(?i)((?:x-amz-security-token|password|secret[_-]?(?:access[_-]?)?key)[\"']?\s*[=:]\s*[\"']?)[^&\s,\"'}]+"
    ),
    re.compile(r"(?i)(bearer\s+)[^\s\"']+"),
    re.compile(r"(?i)(https?://[^/\s:@]+:)[^@\s/]+@"),
]
# a line that contains none of these (lower-cased) needs no pattern: most lines, checked in a microsecond
_TRIGGERS = ("signature", "authorization", "security-token", "password", "secret", "bearer")
SENSITIVE_FIELD = re.compile(r"(?i)secret|signature|token|password|authorization|credential")


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # very short values would mask ordinary words; configured secrets are long
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, MASK)
        low = text.lower()
        if any(t in low for t in _TRIGGERS) or ("://" in low and "@" in low):
            for p in _PATTERNS:
                text = p.sub(lambda m: m.group(1) + MASK + ("@" if m.group(0).endswith("@") else ""), text)
        return text


def clean_fields(fields: dict[str, object]) -> dict[str, object]:
    """Event fields, with the values of fields whose name says they are secret replaced."""
    return {k: (MASK if SENSITIVE_FIELD.search(k) else v) for k, v in fields.items()}
