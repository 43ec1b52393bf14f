"""Sizes (``100MiB``, ``5GB``, ``1024``) and durations (``7d``, ``12h``, ``90s``) in filter conditions."""

from __future__ import annotations

import re

KIB = 1024
SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": KIB, "kib": KIB, "kb": 1000,
    "m": KIB**2, "mib": KIB**2, "mb": 1000**2,
    "g": KIB**3, "gib": KIB**3, "gb": 1000**3,
    "t": KIB**4, "tib": KIB**4, "tb": 1000**4,
}  # fmt: skip
MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
DURATION_UNITS = {"": 1, "s": 1, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}

_NUMBER_UNIT = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]*)")

SIZE_HELP = "a size such as 100MiB, 5GB, 512K or 1024 (bytes)"
DURATION_HELP = "a duration such as 7d, 12h, 30m, 90s or 2w"


def parse_size(text: str) -> float | None:
    """Bytes, or None if ``text`` is not a size. KiB, MiB... (and K, M...) are powers of 1024; KB, MB... of 1000."""
    m = _NUMBER_UNIT.fullmatch(text.strip())
    if m is None:
        return None
    unit = SIZE_UNITS.get(m.group(2).lower())
    return None if unit is None else float(m.group(1)) * unit


def parse_duration(text: str) -> float | None:
    """Seconds, or None if ``text`` is not a duration."""
    m = _NUMBER_UNIT.fullmatch(text.strip())
    if m is None:
        return None
    unit = DURATION_UNITS.get(m.group(2).lower())
    return None if unit is None else float(m.group(1)) * unit
