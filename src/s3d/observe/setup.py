"""What the daemon calls at start: ``prepare`` once in the main process, ``install`` in every serving process.

Settings, read from the environment until the CLI passes them in ``Settings``:

- ``S3D_LOG_FORMAT``: ``human`` (default) or ``json``;
- ``S3D_LOG_LEVEL`` (``settings.log_level``): debug, info, warning, error;
- ``S3D_METRICS_TOKEN``: when set, /metrics wants ``Authorization: Bearer <token>``;
- the standard ``OTEL_*`` variables turn tracing on (see ``tracing_configured``);
  without them the OpenTelemetry SDK is never imported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s3d import observe
from s3d.observe import logs
from s3d.observe.observer import S3dObserver
from s3d.observe.redact import Redactor

METRICS_DIR = "metrics"  # under the data dir: only where there is no shared memory (see metrics_dir)
SHARED_MEMORY = Path("/dev/shm")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "S3D_METRICS_TOKEN"
log = logging.getLogger("s3d")
_logging_configured = False


def log_format(settings: Any) -> str:
    return logs.resolve_format(getattr(settings, "log_format", None) or os.environ.get("S3D_LOG_FORMAT"))


def log_level(settings: Any) -> str:
    return str(getattr(settings, "log_level", None) or os.environ.get("S3D_LOG_LEVEL") or "info")


def redactor(settings: Any) -> Redactor:
    secrets = list(settings.secrets().values()) if hasattr(settings, "secrets") else []
    return Redactor([*secrets, os.environ.get(TOKEN_ENV, "")])


def configure_logging(settings: Any) -> None:
    global _logging_configured
    logs.configure(log_level(settings), log_format(settings), redactor(settings))
    _logging_configured = True


def prepare(settings: Any) -> None:
    """Main process, holding the data dir's lock, before any fork: log format, and a clean metrics dir.

    PROMETHEUS_MULTIPROC_DIR is set here, before any process imports prometheus_client
    (which picks its value class at import), and every forked process inherits it.
    """
    configure_logging(settings)
    shutil.rmtree(settings.data / METRICS_DIR, ignore_errors=True)  # counters restart with the daemon
    os.environ[MULTIPROC_ENV] = str(metrics_dir(settings.data))


def metrics_dir(data: Path) -> Path:
    """A fresh, empty directory for prometheus_client's per-process files, in shared memory when there is one.

    Not on the data volume: prometheus_client grows its files sparse and mmaps them, and on a full
    volume the first write to a page the disk cannot back kills the process (SIGBUS), just when the
    daemon must answer 507 and keep serving deletes. The name comes from the data dir, whose lock
    makes it this daemon's alone; one left by a killed daemon is emptied at the next start.
    """
    if not (SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK)):
        path = data / METRICS_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = shared_metrics_path(data)
    try:
        os.mkdir(path, 0o700)
        return path
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) == 0o700:
        shutil.rmtree(path)  # a real directory of ours (never a link to follow): a killed daemon's
        os.mkdir(path, 0o700)
        return path
    return Path(tempfile.mkdtemp(prefix="s3d-metrics-", dir=SHARED_MEMORY))  # someone else's name: a fresh one


def shared_metrics_path(data: Path) -> Path:
    """The name of a daemon's metrics directory in shared memory (what metrics_dir makes, when it can)."""
    tag = hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:16]
    return SHARED_MEMORY / f"s3d-metrics-{os.getuid()}-{tag}"


def release() -> None:
    """At the daemon's exit: the metrics files go (they live in memory)."""
    path = os.environ.get(MULTIPROC_ENV)
    if path and Path(path).parent == SHARED_MEMORY:
        shutil.rmtree(path, ignore_errors=True)


def tracing_configured(env: Mapping[str, str]) -> bool:
    """Tracing is on when the standard OTEL_* variables ask for an exporter (and the SDK is not disabled)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER")
    if exporter is not None and exporter.strip():
        return exporter.strip().lower() != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def install(settings: Any, role: str = "worker") -> S3dObserver:
    """In a serving process (a worker; the gateway's main process): metrics, logs, and traces if configured."""
    if not _logging_configured:
        configure_logging(settings)
    from s3d.observe import metrics

    tracing = None
    if tracing_configured(os.environ):
        try:
            from s3d.observe import tracing as otel

            tracing = otel.from_env(role)
        except Exception as e:  # noqa: BLE001 - a tracing misconfiguration must not stop the daemon
            log.error("tracing is not enabled: %s", e)
    obs = S3dObserver(metrics.get(), tracing)
    observe.install(obs)
    return obs
