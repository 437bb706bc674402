"""structlog configuration: JSON lines outside development, request id and org id bound per request."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import orjson
import structlog


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    wrapper_class = structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level, 20))
    if not json_lines:
        structlog.configure(
            # Plain tracebacks: the default (rich, when installed) prints every frame's local variables, which
            # hold decrypted names, ID numbers and phones in the request that failed.
            processors=[*shared, structlog.dev.ConsoleRenderer(colors=False,
                                                               exception_formatter=structlog.dev.plain_traceback)],
            wrapper_class=wrapper_class, logger_factory=structlog.PrintLoggerFactory(sys.stderr),
            cache_logger_on_first_use=False,
        )
        return
    # orjson straight into stderr's byte stream: structlog's fast path for JSON (an access line per request).
    # A stderr replaced by a text-only stream (some test runners) gets the same JSON as text.
    byte_stream = getattr(sys.stderr, "buffer", None)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(serializer=_orjson_bytes if byte_stream is not None
                                                      else _orjson_text)],
        wrapper_class=wrapper_class,
        logger_factory=(structlog.BytesLoggerFactory(byte_stream) if byte_stream is not None
                        else structlog.PrintLoggerFactory(sys.stderr)),
        cache_logger_on_first_use=False,
    )


# Dataclasses go to structlog's fallback (repr), as with the standard library: orjson would otherwise write
# every field, `repr=False` ones included. Non-string keys are written as strings.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def _orjson_bytes(value: object, **kwargs: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS, **kwargs)
    except TypeError:
        # What orjson refuses (integers over 64 bits, lone surrogates …): a log line must never raise.
        return json.dumps(value, default=repr, ensure_ascii=False).encode("utf-8", "backslashreplace")


def _orjson_text(value: object, **kwargs: Any) -> str:
    return _orjson_bytes(value, **kwargs).decode("utf-8", "backslashreplace")
