"""The calendar the API accepts: dates and times between 2000-01-01 and 2100-12-31.

PostgreSQL keeps `date` and `timestamptz` far beyond any plausible labour-market date, but asyncpg writes Python's
`date.min`/`date.max` (year 1, year 9999) as `-infinity`/`infinity` and reads `-infinity` back as a naive
`datetime.min`: a consent dated 0001-01-01 was stored through an import and then broke every read of the
broker's profiles. Spreadsheets produce such dates from empty date cells, so they are refused at the door (a
422 per field or per row) instead."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
_MESSAGE = f"日期须在 {EARLIEST} 至 {LATEST} 之间 / dates must be between {EARLIEST} and {LATEST}"


def _date_in_window(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(_MESSAGE)
    return value


def _datetime_in_window(value: datetime) -> datetime:
    _date_in_window(value.date())  # its own calendar date: a day's offset either way is far inside the window
    return value


CalendarDate = Annotated[date, AfterValidator(_date_in_window)]
CalendarDateTime = Annotated[datetime, AfterValidator(_datetime_in_window)]
