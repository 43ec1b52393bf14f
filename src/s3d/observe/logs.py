"""Log lines: human (on a terminal, coloured) or JSON (``S3D_LOG_FORMAT=json``), one per record.

Structured fields travel in ``record.s3d`` (a dict): request lines (logger
``s3d.request``) and events (logger ``s3d.event``) carry them; any other log
record is just its message. Every line goes through the Redactor last, so a
secret that slipped into a message is masked anyway.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from s3d.observe.redact import Redactor

FORMATS = ("human", "json")
QUIET_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3", "opentelemetry")
REQUEST_LOGGER = "s3d.request"
EVENT_LOGGER = "s3d.event"
COLORS = {"DEBUG": "\x1b[2m", "INFO": "\x1b[32m", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}
RESET = "\x1b[0m"


_second: list[object] = [-1, ""]


def timestamp(created: float) -> str:
    sec = int(created)
    if _second[0] != sec:  # the formatted second is reused by every line within it
        _second[0] = sec
        _second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{_second[1]}.{int(created % 1 * 1000):03d}Z"


def size(n: object) -> str:
    if not isinstance(n, int):
        return str(n)
    v = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if v < 1024 or unit == "GiB":
            return f"{n}B" if unit == "B" else f"{v:.1f}{unit}"
        v /= 1024
    return f"{n}B"


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        d: dict[str, Any] = {
            "time": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "s3d", None)
        if fields:
            d.update(fields)
        if record.exc_info:
            d["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(d, default=str, ensure_ascii=False))


class HumanFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, color: bool = False) -> None:
        super().__init__()
        self.redact = redactor
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname:<7}"
        if self.color:
            level = COLORS.get(record.levelname, "") + level + RESET
        fields = getattr(record, "s3d", None)
        if record.name == REQUEST_LOGGER and fields:
            body = self._request(fields)
        else:
            body = f"{record.name} {record.getMessage()}"
            if fields:
                body += " " + " ".join(f"{k}={_value(v)}" for k, v in fields.items())
        line = f"{timestamp(record.created)} {level} {body}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.redact(line)

    @staticmethod
    def _request(f: dict[str, Any]) -> str:
        where = f.get("bucket") or ""
        if f.get("key"):
            where += "/" + str(f["key"])
        parts = [str(f.get("operation")), str(f.get("status"))]
        if f.get("error_code"):
            parts.append(str(f["error_code"]))
        parts.append(_value(where or "-"))
        parts.append(f"in={size(f.get('bytes_in'))} out={size(f.get('bytes_out'))}")
        parts.append(f"{f.get('duration_ms')}ms")
        if f.get("remote_calls"):
            parts.append(f"remote={f['remote_calls']}")
        parts.append(f"client={f.get('client') or '-'} id={f.get('request_id')}")
        if f.get("trace_id"):
            parts.append(f"trace={f['trace_id']}")
        return "request " + " ".join(parts)


def _value(v: object) -> str:
    s = str(v)
    return json.dumps(s, ensure_ascii=False) if (not s or any(c in s for c in ' "=\n\t')) else s


def resolve_format(value: str | None) -> str:
    v = (value or "human").strip().lower()
    return v if v in FORMATS else "human"


def configure(level: str, fmt: str, redactor: Redactor, stream: TextIO | None = None) -> None:
    """Route every log record of the process (root logger) to ``stream`` (stderr) in the chosen format."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(redactor))
    else:
        handler.setFormatter(HumanFormatter(redactor, color=_isatty(stream)))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    lvl = logging.getLevelName(level.strip().upper()) if level else logging.INFO
    if not isinstance(lvl, int):
        lvl = logging.INFO
    root.setLevel(lvl)
    for name in QUIET_LIBRARIES:  # their debug output is bulky (and botocore's shows request headers)
        logging.getLogger(name).setLevel(max(lvl, logging.WARNING))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Line:
    """What the formatters read of a LogRecord, without building one (request lines are the hot path)."""

    __slots__ = ("created", "levelname", "name", "s3d", "msg")
    exc_info = None
    exc_text = None
    stack_info = None

    def __init__(self, name: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        self.created = time.time()
        self.levelname = logging.getLevelName(level)
        self.name = name
        self.msg = msg
        self.s3d = fields

    def getMessage(self) -> str:  # noqa: N802 - the LogRecord method name
        return self.msg


class FastLines:
    """Writes request lines through the root handler's formatter, batched: one write per loop tick.

    A crash can lose at most the lines of the current tick; the process's other log records still
    go through logging as usual.
    """

    def __init__(self, handler: logging.StreamHandler) -> None:  # type: ignore[type-arg]
        self.handler = handler
        self.pending: list[str] = []
        self.scheduled = False

    @classmethod
    def for_root(cls) -> FastLines | None:
        handlers = logging.getLogger().handlers
        if len(handlers) == 1 and isinstance(handlers[0], logging.StreamHandler) and handlers[0].formatter is not None:
            return cls(handlers[0])
        return None

    def emit(self, name: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        fmt = self.handler.formatter
        assert fmt is not None
        self.pending.append(fmt.format(Line(name, level, msg, fields)))  # type: ignore[arg-type]
        if not self.scheduled:
            try:
                import asyncio

                asyncio.get_running_loop().call_soon(self.flush)
                self.scheduled = True
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        self.scheduled = False
        if not self.pending:
            return
        text = "\n".join(self.pending) + "\n"
        self.pending.clear()
        try:
            self.handler.stream.write(text)
            self.handler.stream.flush()
        except (OSError, ValueError):
            pass
