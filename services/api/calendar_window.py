"""Times the API accepts: 1900-01-01 to 2999-12-31, written as dates and times, not as numbers.

asyncpg writes Python's extreme datetimes (year 1, year 9999, or any time that falls outside them in UTC) as
PostgreSQL's `-infinity`/`infinity`, and reads `-infinity` back as a naive `datetime.min`: a consent dated
0001-01-01 was stored through an import and then made every read of the broker's profiles a 500. Spreadsheets
produce such values from empty date cells. The window is wide on purpose: these models also read stored rows
back, so it only keeps out what cannot be stored and read back as it was. (Plain dates are left alone: asyncpg
reads `infinity` back as `date.max`, and 9999-12-31 is how "open-ended" is commonly written.)"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

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


# pydantic reads a number, or text of digits only, as seconds since 1970 (or milliseconds, past 2e10): an
# available_from of "1700000000" was stored as 2023-11-14, and "20260301" (a compact date) as 1970-08-23. A date
# here is written as a date (ISO 8601, as api.md says, its basic form 20260301 included; imports turn 2026/3/1,
# 2026年3月1日 and Excel serial numbers into that before), so any other bare number is refused naming its field.
_NUMBER = re.compile(r"\s*[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?\s*")
_DATE_NOT_NUMBER = ("须为日期，如 2026-03-01（不接受数字或 Unix 时间戳）/ must be a date such as 2026-03-01, not a "
                    "number or a Unix timestamp")
_TIME_NOT_NUMBER = ("须为带时区的时间，如 2026-03-01T09:00:00+08:00（不接受数字或 Unix 时间戳）/ must be a time "
                    "with its UTC offset such as 2026-03-01T09:00:00+08:00, not a number or a Unix timestamp")


# ISO 8601's basic form of a calendar date, as many HR systems export it.
_BASIC_DATE = re.compile(r"\s*([0-9]{4})([0-9]{2})([0-9]{2})\s*")


def _refuse_number(message: str, *, basic_dates: bool = False) -> Any:
    def refuse(value: Any) -> Any:
        if basic_dates and isinstance(value, str) and (basic := _BASIC_DATE.fullmatch(value)):
            try:
                return date(*map(int, basic.groups()))
            except ValueError:
                raise ValueError(message) from None
        if (isinstance(value, int | float) and not isinstance(value, bool)) or (
                isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise ValueError(message)
        return value

    return BeforeValidator(refuse)


CalendarDateTime = Annotated[datetime, _refuse_number(_TIME_NOT_NUMBER), AfterValidator(_in_window)]
CalendarDate = Annotated[date, _refuse_number(_DATE_NOT_NUMBER, basic_dates=True)]
"""A date a client gives (availability, a posting's start and end): ISO 8601 (2026-03-01, or its basic form
20260301 as text), never a number."""
