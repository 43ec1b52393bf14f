"""The events s3d's observer understands: ``observe.get().event(NAME, level, **fields)``.

Every event is logged (at the level given) with its fields, in the same format and
with the same field names as request lines, and counted in
``s3d_events_total{event=NAME}``. Some also move a dedicated metric:

=================  ==============================  ==========================================
event              fields                          metric
=================  ==============================  ==========================================
``cache_hit``      bucket, key, bytes              ``s3d_cache_hits_total`` += 1
``cache_miss``     bucket, key, bytes              ``s3d_cache_misses_total`` += 1
``cache_evict``    entries, bytes                  ``s3d_cache_evictions_total`` += entries (1)
                                                   ``s3d_cache_evicted_bytes_total`` += bytes
=================  ==============================  ==========================================

Suggested names for the shipper (logged and counted like any other event):
``ship_retry`` (warning; bucket, key, error_code, attempt, retry_in_s),
``ship_failed`` (error; bucket, key, error_code, status), ``remote_down`` (warning;
error_code, error), ``remote_up`` (info). Cache hits and misses are best sent at
``debug`` level: they happen on every read.

Field names shared with request lines: request_id, operation, bucket, key, status,
error_code, bytes, duration_s. Inside a request, the request's id is added by itself.
Fields whose name mentions a secret, a signature, a token, a password or an
authorization are never logged (their value is replaced by ``***``).
"""

from __future__ import annotations

CACHE_HIT = "cache_hit"
CACHE_MISS = "cache_miss"
CACHE_EVICT = "cache_evict"

SHIP_RETRY = "ship_retry"
SHIP_FAILED = "ship_failed"
SHIP_CONFLICT = "ship_conflict"  # another writer changed a key on the remote since this daemon shipped it
SHIP_REPAIR = "ship_repair"  # the remote was found to differ from the log (a late write landed) and was put right
REMOTE_DOWN = "remote_down"
REMOTE_UP = "remote_up"
