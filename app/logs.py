"""Logging set-up for payql's loggers and uvicorn's, in one of two formats
(``PAYQL_LOG_FORMAT``):

- ``text``: ``<timestamp> <level> <logger> [<request id>] <message>`` for every logger;
- ``json``: one JSON object per line with ``timestamp``, ``level``, ``logger``, ``message``,
  ``request_id``, ``operation`` (a GraphQL request's operation name) and, in the access log
  (``uvicorn.access``), ``method``, ``path``, ``status``, ``duration_ms`` and ``client``.

In both, every quoted value, message and traceback line is cut to ``MAX_VALUE_CHARS`` (a
request of a megabyte must not write megabytes of log). Headers are never logged, and an
access line shows the path without its query string (and a sandbox page's path without
its ticket): neither may carry a token into the log.
"""

import json
import logging
import os
import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.middleware import request_id_var

MAX_VALUE_CHARS = 1000
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_PLAIN = (int, float, bool, type(None))
_TRACEBACKS = logging.Formatter()

operation_var: ContextVar[str | None] = ContextVar("operation", default=None)
request_started_var: ContextVar[float | None] = ContextVar("request_started", default=None)


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` itself, or its first ``limit`` characters and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


class RequestIdFilter(logging.Filter):
    """Give each record the current request's id (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class ShortValuesFilter(logging.Filter):
    """Cut a record's long message, arguments and traceback lines before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and len(record.msg) > MAX_VALUE_CHARS:
            record.msg = shorten(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _short(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_short(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            text = _TRACEBACKS.formatException(record.exc_info)
            record.exc_text = "\n".join(shorten(line) for line in text.splitlines())
        if record.stack_info:
            record.stack_info = "\n".join(shorten(line) for line in record.stack_info.splitlines())
        return True


def _short(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return shorten(text) if len(text) > MAX_VALUE_CHARS else value


class TextFormatter(logging.Formatter):
    """:data:`TEXT_FORMAT`, access lines with a public path."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = _public_access_args(record.args)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for its keys)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "operation": operation_var.get(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line.update(_access_fields(record))
        else:
            line["message"] = record.getMessage()
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """uvicorn's access record ``(client, method, path, http version, status)`` as keys."""
    args = record.args if isinstance(record.args, tuple) else ()
    if len(args) != 5:
        return {"message": record.getMessage()}
    client, method, path, _, status = _public_access_args(args)
    started = request_started_var.get()
    duration = None if started is None else round((record.created - started) * 1000, 3)
    return {
        "message": f"{method} {path} {status}",
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration,
        "client": client,
    }


def _public_access_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) != 5:
        return args
    client, method, path, version, status = args
    return (client, method, public_path(str(path)), version, status)


def public_path(path: str) -> str:
    """``path`` without its query string, and a sandbox page's without its signed ticket."""
    path = path.partition("?")[0]
    if path.startswith("/sandbox/"):
        kind = path.split("/")[2] if path.count("/") >= 2 else ""
        return f"/sandbox/{kind}/…"
    return path


class RequestTiming:
    """Pure ASGI middleware: note when each request started (the access log's
    ``duration_ms``) and forget the previous operation name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = request_started_var.set(time.time())
        operation = operation_var.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            operation_var.reset(operation)
            request_started_var.reset(started)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r}; use text or json")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def uvicorn_log_config(log_format: str = "text") -> dict[str, Any]:
    """uvicorn's ``log_config``: payql's and uvicorn's loggers, all in ``log_format``, with
    request ids and values cut short. Every worker process applies it at start-up."""
    formatter(log_format)  # refuse an unknown format here, before any worker starts
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "payql",
        "filters": ["request_id", "short_values"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "app.logs.RequestIdFilter"},
            "short_values": {"()": "app.logs.ShortValuesFilter"},
        },
        "formatters": {"payql": {"()": "app.logs.formatter", "log_format": log_format}},
        "handlers": {
            "default": handler,
            "access": handler
            | {"filters": ["request_id", "short_values"], "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "payql": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }


_configured_format: str | None = None


def configure_logging(log_format: str | None = None, level: int = logging.INFO) -> None:
    """Send payql's loggers to stderr in ``log_format``; without one, in the format
    configured last in this process, else ``PAYQL_LOG_FORMAT``'s (``text`` by default)."""
    global _configured_format
    chosen = log_format or _configured_format or os.environ.get("PAYQL_LOG_FORMAT") or "text"
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(ShortValuesFilter())
    handler.setFormatter(formatter(chosen))
    _configured_format = chosen
    root = logging.getLogger("payql")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
