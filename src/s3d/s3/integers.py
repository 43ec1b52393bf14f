"""Integers in requests (query parameters, headers, XML elements), read as S3 reads them.

Python's ``int()`` takes much more than S3 does: ``+5``, `` 5``, ``1_0``, digits of other scripts
(``١``) and numbers of any size, so ``max-keys=1_0`` would list ten keys. Every integer s3d takes from
a request goes through ``parse``: ASCII digits with an optional leading minus, nothing else, within the
range of the type S3's API gives it (an int32 "integer" unless said otherwise).
"""

from __future__ import annotations

import re

from s3d.s3.errors import S3Error

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # S3's "integer" (max-keys, partNumber, Days...)
LONG_MAX = 2**63 - 1  # S3's "long" (sizes, byte positions)
SYNTAX = re.compile("-?[0-9]+")  # [0-9], not \d: ASCII digits only
DIGITS = re.compile("[0-9]+")


def is_digits(raw: str) -> bool:
    """Whether ``raw`` is one or more ASCII digits (no sign, space or other script's digit)."""
    return DIGITS.fullmatch(raw) is not None


def parse(raw: str | None, low: int = INT_MIN, high: int = INT_MAX) -> int | None:
    """``raw`` as an integer within [low, high]; None if it is anything else (or absent).

    The digit count is checked before ``int()`` runs, so a number of thousands of digits costs nothing.
    """
    if raw is None or SYNTAX.fullmatch(raw) is None:
        return None
    if len(raw.lstrip("-").lstrip("0")) > len(str(max(high, -low))):
        return None
    n = int(raw)
    return n if low <= n <= high else None


def argument(name: str, raw: str, low: int = INT_MIN, high: int = INT_MAX, message: str | None = None) -> int:
    """A query parameter or header S3 reads as an integer within [low, high]: 400 InvalidArgument otherwise,
    in AWS's words (``message`` when AWS has its own for this parameter)."""
    n = parse(raw, low, high)
    if n is None:
        raise S3Error(
            "InvalidArgument",
            message or f"Provided {name} not an integer or within integer range",
            extra={"ArgumentName": name, "ArgumentValue": raw},
        )
    return n


def count(name: str, raw: str | None, default: int, cap: int, label: str | None = None) -> int:
    """A max-keys-like parameter: a non-negative integer (InvalidArgument otherwise), at most ``cap``.

    ``label`` is how AWS's message names the parameter when it is negative (max-keys: maxKeys).
    """
    if raw is None:
        return default
    n = argument(name, raw)
    if n < 0:
        raise S3Error(
            "InvalidArgument",
            f"Argument {label or name} must be an integer between 0 and {INT_MAX}",
            extra={"ArgumentName": name, "ArgumentValue": raw},
        )
    return min(n, cap)
