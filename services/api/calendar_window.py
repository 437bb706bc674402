"""Times the API accepts: 1900-01-01 to 2999-12-31.

asyncpg writes Python's extreme datetimes (year 1, year 9999, or any time that falls outside them in UTC) as
PostgreSQL's `-infinity`/`infinity`, and reads `-infinity` back as a naive `datetime.min`: a consent dated
0001-01-01 was stored through an import and then made every read of the broker's profiles a 500. Spreadsheets
produce such values from empty date cells. The window is wide on purpose: these models also read stored rows
back, so it only keeps out what cannot be stored and read back as it was. (Plain dates are left alone: asyncpg
reads `infinity` back as `date.max`, and 9999-12-31 is how "open-ended" is commonly written.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
_MESSAGE = f"时间须在 {EARLIEST} 至 {LATEST} 之间 / times must be between {EARLIEST} and {LATEST}"


_EARLIEST_UTC = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
_LATEST_UTC = datetime.combine(LATEST, time.max, tzinfo=UTC)


def _in_window(value: datetime) -> datetime:
    # An aware time is checked as the instant it names, not by its own calendar date: it is stored as a
    # timestamptz, read back in UTC and checked here again. By its own date, 1900-01-01T00:00+23:59 passed, was
    # stored as 1899-12-31 UTC, and every later read of the row answered 500 (the broker's whole profile list
    # after an import). Comparing aware datetimes cannot overflow, unlike converting year 1 or 9999 to UTC.
    if value.utcoffset() is not None:
        inside = _EARLIEST_UTC <= value <= _LATEST_UTC
    else:
        inside = EARLIEST <= value.date() <= LATEST
    if not inside:
        raise ValueError(_MESSAGE)
    return value


CalendarDateTime = Annotated[datetime, AfterValidator(_in_window)]
