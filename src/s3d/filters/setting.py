"""The filter settings: upload_filter, cache_filter, sync_filter, mount_filter.

Each is a flag (--upload-filter), an environment variable (S3D_UPLOAD_FILTER) and a TOML key
(upload_filter), like every other setting. The value is the rules themselves, or '@PATH' naming a
file that holds them; an empty value means no filter.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from s3d.filters.evaluate import Filter
from s3d.filters.syntax import FilterError

FILE_PREFIX = "@"


class Feature(StrEnum):
    UPLOAD = "upload"  # gateway mode: what ships to the remote
    CACHE = "cache"  # gateway mode: which remote objects the read cache keeps
    SYNC = "sync"  # the sync directory
    MOUNT = "mount"  # the FUSE mount

    @property
    def setting(self) -> str:
        return f"{self.value}_filter"

    @property
    def env(self) -> str:
        return f"S3D_{self.value.upper()}_FILTER"

    @property
    def flag(self) -> str:
        return f"--{self.value}-filter"


GATEWAY_FEATURES = (Feature.UPLOAD, Feature.CACHE)
SETTINGS = tuple(f.setting for f in Feature)


class FilterSettingError(ValueError):
    """A filter setting that cannot be used: one line naming the setting (and the line and column)."""


def read_rules(value: str) -> tuple[str, str]:
    """The rules a value stands for, and where they came from ('' or ' (@PATH)'); OSError if the file is unreadable."""
    if value.startswith(FILE_PREFIX):
        path = Path(value[len(FILE_PREFIX) :]).expanduser()
        return path.read_text(), f" ({value})"
    return value, ""


def load(setting: str, value: object) -> Filter | None:
    """A compiled filter for a setting's value; None for an empty value."""
    if not isinstance(value, str):
        raise FilterSettingError(f"setting {setting}: the rules are text, got {value!r}")
    if not value.strip():
        return None
    try:
        text, origin = read_rules(value)
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise FilterSettingError(f"setting {setting}: cannot read {value[len(FILE_PREFIX) :]}: {reason}") from None
    try:
        return Filter.parse(text)
    except FilterError as e:
        raise FilterSettingError(f"setting {setting}{origin}: {e}") from None
