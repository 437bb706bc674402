"""The clock notifications read: real time in production, a controllable one in tests (digests, caps, quiet
hours and backoff all ask it, never `datetime.now()` directly)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

CLOCK_KEY = "notifications.clock"


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM_CLOCK = SystemClock()


def clock_of(extensions: dict[str, Any]) -> Clock:
    """The process's clock: `extensions[CLOCK_KEY]` when a test put one there, else the system clock."""
    clock: Clock = extensions.get(CLOCK_KEY, SYSTEM_CLOCK)
    return clock
