"""Gateway settings: the remote, and the local capacity that bounds unshipped (dirty) data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from s3d.filters.evaluate import Filter
from s3d.remote.settings import ConfigError, RemoteSettings

CONFLICT_LAST_WRITER_WINS = "last-writer-wins"  # policies for a key another writer changed since we shipped it
CONFLICT_REMOTE_WINS = "remote-wins"
CONFLICT_KEEP_BOTH = "keep-both"
CONFLICT_POLICIES = (CONFLICT_LAST_WRITER_WINS, CONFLICT_REMOTE_WINS, CONFLICT_KEEP_BOTH)
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(value: str | int) -> int:
    if isinstance(value, int):
        return value
    v = value.strip().lower().removesuffix("ib").removesuffix("b")
    unit = v[-1:] if v[-1:] in UNITS and not v[-1:].isdigit() else ""
    try:
        return int(float(v[: len(v) - len(unit)]) * UNITS[unit])
    except ValueError:
        raise ConfigError(f"not a size: {value!r} (use e.g. 512M, 10G)") from None


def seconds(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name.replace('_', ' ')} must be a number of seconds, got {value!r}") from None
    if v < 0:
        raise ConfigError(f"{name.replace('_', ' ')} must not be negative")
    return v


def parse_bucket_map(value: str) -> dict[str, str]:
    """'local=remote,photos=edge-photos-eu' -> {local: remote}: buckets named differently on the remote."""
    out: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        local, sep, remote = item.partition("=")
        if not sep or not local.strip() or not remote.strip():
            raise ConfigError(f"remote bucket map entries are LOCAL=REMOTE, got {item.strip()!r}")
        out[local.strip()] = remote.strip()
    return out


@dataclass(slots=True)
class GatewaySettings:
    remote: RemoteSettings
    capacity: int = 10 * 1024**3  # dirty bytes accepted before writes get 503 SlowDown
    drain_timeout: float = 30.0
    remote_refresh: float = 60.0
    concurrency: int = 16  # keys shipped at once (a remote's latency, not its bandwidth, bounds small objects)
    block_size: int = 8 * 1024**2  # the read cache's unit of fetching and eviction
    revalidate_after: float = 60.0  # seconds before a cached remote object is checked again (0: every read)
    ship_max_attempts: int = 5  # a key the remote keeps refusing moves to the failed set after this many tries
    ship_fail_after: float = 300.0  # ... or after failing this long (throttling answers included)
    ship_settle: float = 2.0  # after a request of unknown outcome: wait this long, then check the remote
    conflict: str = CONFLICT_LAST_WRITER_WINS  # another writer changed a key since we shipped it: last-writer-wins | remote-wins | keep-both
    cache_filter: Filter | None = None  # remote objects it excludes are served without being cached


def _truthy(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


def load(flags: dict[str, Any], env: dict[str, str] | None = None) -> GatewaySettings | None:
    """Gateway mode is on when a remote URL is given (--remote or S3D_REMOTE); None otherwise."""
    env = dict(os.environ) if env is None else env

    def pick(flag: str, var: str) -> Any:
        v = flags.get(flag)
        return v if v is not None else env.get(var) or None

    url = pick("remote", "S3D_REMOTE")
    if not url:
        return None
    region = (
        pick("remote_region", "S3D_REMOTE_REGION")
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    path_style = pick("remote_path_style", "S3D_REMOTE_PATH_STYLE")
    remote = RemoteSettings(
        url=url,
        region=region,
        path_style=True
        if path_style is None
        else (path_style if isinstance(path_style, bool) else _truthy(path_style)),
        bucket_prefix=pick("remote_bucket_prefix", "S3D_REMOTE_BUCKET_PREFIX") or "",
        bucket_map=parse_bucket_map(pick("remote_bucket_map", "S3D_REMOTE_BUCKET_MAP") or ""),
        profile=env.get("AWS_PROFILE") or None,
        sse=pick("remote_sse", "S3D_REMOTE_SSE") or None,
        sse_kms_key_id=pick("remote_sse_kms_key_id", "S3D_REMOTE_SSE_KMS_KEY_ID") or None,
    )
    read_timeout = pick("remote_read_timeout", "S3D_REMOTE_READ_TIMEOUT")
    if read_timeout is not None:
        remote.read_timeout = seconds("remote_read_timeout", read_timeout)
        if remote.read_timeout <= 0:
            raise ConfigError("remote read timeout must be more than 0 seconds")
    remote.validate()
    g = GatewaySettings(remote=remote)
    cap = pick("cache_max_bytes", "S3D_CACHE_MAX_BYTES")
    if cap is not None:
        g.capacity = parse_size(cap)
    for field_name, flag, var in (
        ("drain_timeout", "drain_timeout", "S3D_DRAIN_TIMEOUT"),
        ("revalidate_after", "cache_revalidate_after", "S3D_CACHE_REVALIDATE_AFTER"),
        ("remote_refresh", "remote_refresh", "S3D_REMOTE_REFRESH"),
        ("ship_fail_after", "ship_fail_after", "S3D_SHIP_FAIL_AFTER"),
        ("ship_settle", "ship_settle", "S3D_SHIP_SETTLE"),
    ):
        value = pick(flag, var)
        if value is not None:
            setattr(g, field_name, seconds(flag, value))
    conflict = pick("conflict", "S3D_CONFLICT")
    if conflict is not None:
        if conflict not in CONFLICT_POLICIES:
            raise ConfigError(f"conflict must be one of {', '.join(CONFLICT_POLICIES)}, got {conflict!r}")
        g.conflict = conflict
    attempts = pick("ship_max_attempts", "S3D_SHIP_MAX_ATTEMPTS")
    if attempts is not None:
        try:
            g.ship_max_attempts = int(attempts)
        except ValueError:
            raise ConfigError(f"ship max attempts must be a whole number, got {attempts!r}") from None
        if g.ship_max_attempts < 1:
            raise ConfigError("ship max attempts must be at least 1")
    block = pick("cache_block_size", "S3D_CACHE_BLOCK_SIZE")
    if block is not None:
        g.block_size = parse_size(block)
        if g.block_size < 64 * 1024:
            raise ConfigError("cache block size must be at least 64K")
    return g
