"""Formatting for people: sizes, durations, aligned tables; JSON for scripts."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(n: float) -> str:
    """1536 -> '1.5 KiB'; whole bytes stay exact."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in UNITS[1:]:
        n /= 1024
        if n < 1024 or unit == UNITS[-1]:
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def human_duration(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def timestamp(t: float | datetime | None) -> str:
    if t is None:
        return "-"
    if isinstance(t, datetime):
        t = t.timestamp()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], right: Iterable[int] = ()) -> str:
    """Plain aligned columns (no escape codes); `right` lists the columns aligned to the right."""
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    right = set(right)
    lines = []
    for r in cells:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
