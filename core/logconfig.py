"""Logs: one JSON object per line on stderr, the request's fields on every line logged
while it runs, and no token or secret in any line.

`socialgraph serve` passes `config(level)` to uvicorn (`log_config=`), so the server's own
lines (startup, WebSocket handshakes, "Exception in ASGI application") are JSON too, in
every worker. The API's request middleware (api/observability.py) opens a request's
context with `request_context(...)`; authentication adds the user with `bind(user_id=...)`.

Every string of a line is redacted, the message and traceback included: the value of a `token`
(or `password`, `secret`, ...) query or form parameter, the credentials after `Bearer` or
`Basic`, and anything shaped like a JWT (`eyJ...`.`...`.`...`) become `[redacted]`.
uvicorn's WebSocket line prints the full path with its query string, where a browser's
`/v1/ws?token=<jwt>` would otherwise land.
"""

from __future__ import annotations

import json
import logging
import re
import time
from contextvars import ContextVar, Token
from typing import Any

# The fields of the request being handled (request_id, user_id), shared by reference with
# the tasks it starts; None outside a request.
_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("socialgraph_request", default=None)

REDACTED = "[redacted]"
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SECRET_PARAM = re.compile(
    r"(?i)\b((?:access_|refresh_|id_)?token|password|passwd|secret|client_secret|api_key)"
    r"(=|\"?\s*:\s*\"?)([^&\s\"',;]+)"
)
_CREDENTIALS = re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)[A-Za-z0-9._~+/=-]+")


# What each pattern needs somewhere in the text; most field values have none of it.
_TRIGGER = re.compile(r"[=:\s+%]|eyJ")


def redact(text: str) -> str:
    """`text` with tokens, credentials and secret parameters replaced by `[redacted]`."""
    if not _TRIGGER.search(text):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _SECRET_PARAM.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _CREDENTIALS.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)


def request_context(**fields: Any) -> Token[dict[str, Any] | None]:
    """Start a request's log context; `reset_context(token)` ends it."""
    return _REQUEST.set(dict(fields))


def reset_context(token: Token[dict[str, Any] | None]) -> None:
    _REQUEST.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current request's log lines (the user, once authenticated).
    Outside a request it does nothing."""
    current = _REQUEST.get()
    if current is not None:
        current.update(fields)


def current() -> dict[str, Any]:
    """The current request's fields (empty outside a request)."""
    return dict(_REQUEST.get() or {})


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", <request fields>, <extra fields>, "exc"}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        request = _REQUEST.get()
        if request:
            entry.update(_clean(request))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _clean(value)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def _clean(value: Any) -> Any:
    """JSON-ready with every string redacted (before encoding: escapes would hide a
    token's end from the patterns)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return redact(str(value))


def config(level: str = "info") -> dict[str, Any]:
    """The `logging.config.dictConfig` for the API server (uvicorn's `log_config=`).

    Everything goes to stderr as JSON. uvicorn's access log is off: the API writes its own
    request line (`socialgraph.access`: request id, route template, status, duration,
    user), which has no query string."""
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.logconfig.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # The driver's info lines are connection chatter; its warnings stay.
            "neo4j": {"level": "WARNING"},
        },
        "root": {"handlers": ["stderr"], "level": lvl},
    }
