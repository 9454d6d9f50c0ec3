"""Logging set-up: one line per record, with the request id when there is one, and every
quoted value, message and traceback line cut to ``MAX_VALUE_CHARS`` (a request of a
megabyte must not write megabytes of log)."""

import logging
from collections.abc import Mapping
from typing import Any

from app.middleware import request_id_var

MAX_VALUE_CHARS = 1000
_PLAIN = (int, float, bool, type(None))
_TRACEBACKS = logging.Formatter()


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` itself, or its first ``limit`` characters and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


class RequestIdFilter(logging.Filter):
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


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(ShortValuesFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger("payql")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
