"""What the gateway reports about itself: lag, failures and remote health, read from the store."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from s3d.store import journal, ship_state, state


def queue_summary(conn: sqlite3.Connection, bucket: str | None = None) -> dict[str, Any]:
    """Lag (the journal holds exactly the records not yet applied remotely) and failed keys."""
    lag = journal.lag(conn, bucket)
    return {
        "pending_records": lag.records,
        "pending_bytes": lag.bytes,
        "oldest_pending_age_s": round(time.time() - lag.oldest_ts, 3) if lag.oldest_ts else 0.0,
        "failed_records": ship_state.failed_count(conn, bucket),
    }


def remote_health(conn: sqlite3.Connection, url: str) -> dict[str, Any]:
    reachable = state.get(conn, state.REMOTE_REACHABLE)
    down_since = state.get(conn, state.REMOTE_DOWN_SINCE)
    conditional = state.get(conn, state.REMOTE_CONDITIONAL_WRITES)  # unknown until the shipper probed it
    refreshed_at = state.get(conn, state.REMOTE_REFRESHED_AT)  # None until the first refresh (at start) ended
    return {
        "remote": url,
        "remote_reachable": None if reachable is None else bool(reachable),
        "remote_error": state.get(conn, state.REMOTE_ERROR),
        "remote_down_since": down_since,
        "remote_down_for_s": round(time.time() - down_since, 1) if down_since else None,
        "remote_conditional_writes": None if conditional is None else bool(conditional),
        "remote_refreshed_at": refreshed_at,
    }
