"""structlog configuration: JSON lines outside development, request id and org id bound per request."""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

import orjson
import structlog

from matching.identity import mask_numbers_in_log_text


def mask_personal_numbers(_logger: Any, _method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """The last guard: an ID, mobile or bank card number in any text of a log line (an exception's message, a value
    some code logged without thinking) is written masked, however it is grouped, as profiles' free text masks it
    (`mask_numbers_in_log_text`: a UUID, a timestamp or a duration is left whole). Code keeps personal data out of
    logs on purpose; this catches what it missed, in strings and in lists and mappings of them, one level deep."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask_numbers_in_log_text(value)
        elif isinstance(value, list | tuple):
            event[key] = [mask_numbers_in_log_text(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, dict):
            event[key] = {k: mask_numbers_in_log_text(v) if isinstance(v, str) else v for k, v in value.items()}
    return event


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks as text here, so the guard below sees them too.
        structlog.processors.format_exc_info,
        mask_personal_numbers,
    ]
    wrapper_class = structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level, 20))
    if not json_lines:
        structlog.configure(
            # Plain tracebacks: the default (rich, when installed) prints every frame's local variables, which
            # hold decrypted names, ID numbers and phones in the request that failed.
            processors=[*shared, structlog.dev.ConsoleRenderer(colors=False,
                                                               exception_formatter=structlog.dev.plain_traceback)],
            wrapper_class=wrapper_class, logger_factory=_stderr_logger, cache_logger_on_first_use=False,
        )
        return
    # orjson straight into stderr's byte stream: structlog's fast path for JSON (an access line per request).
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer(serializer=_orjson_bytes)],
        wrapper_class=wrapper_class, logger_factory=_stderr_logger, cache_logger_on_first_use=False,
    )


class StderrLogger:
    """Writes each line to `sys.stderr` as it is when the line is written, not as it was when logging was
    configured: a stream swapped in and closed since (a test runner's capture, a CLI runner) made every later
    log call of the process raise. Bytes go to the stream's buffer; a text-only stream gets them as text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def msg(self, message: str | bytes) -> None:
        stream = sys.stderr
        with self._lock:
            if isinstance(message, bytes):
                buffer = getattr(stream, "buffer", None)
                if buffer is not None:
                    buffer.write(message + b"\n")
                    buffer.flush()
                    return
                message = message.decode("utf-8", "backslashreplace")
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = failure = err = msg


_STDERR_LOGGER = StderrLogger()


def _stderr_logger(*_args: Any) -> StderrLogger:
    return _STDERR_LOGGER


# Dataclasses go to structlog's fallback (repr), as with the standard library: orjson would otherwise write
# every field, `repr=False` ones included. Non-string keys are written as strings.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def _orjson_bytes(value: object, **kwargs: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS, **kwargs)
    except TypeError:
        # What orjson refuses (integers over 64 bits, lone surrogates …): a log line must never raise.
        return json.dumps(value, default=repr, ensure_ascii=False).encode("utf-8", "backslashreplace")


