"""Reporting periods: a month (`2026-11`) or a quarter (`2026-Q4`), in China time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from services.api.china_calendar import CHINA_TZ

# Years 2000–2999 in ASCII digits: the platform has no figures before 2000, and year 0 (or 1, whose previous
# period is year 0) is no date at all.
_PATTERN = re.compile(r"^(?P<year>2\d{3})-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4]))$", re.ASCII)


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class Period:
    starts_on: date
    kind: Literal["month", "quarter"]

    @property
    def ends_on(self) -> date:
        """The last day of the period."""
        return self.next_start - timedelta(days=1)

    @property
    def next_start(self) -> date:
        months = 1 if self.kind == "month" else 3
        total = self.starts_on.month - 1 + months
        return date(self.starts_on.year + total // 12, total % 12 + 1, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.starts_on, time.min, CHINA_TZ)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.next_start, time.min, CHINA_TZ)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.starts_on.year}-{self.starts_on.month:02d}"
        return f"{self.starts_on.year}-Q{(self.starts_on.month - 1) // 3 + 1}"

    def __str__(self) -> str:
        return self.label

    def has_ended(self, now: datetime) -> bool:
        return now >= self.end

    def has_started(self, now: datetime) -> bool:
        return now >= self.start

    def previous(self) -> Period:
        months = 1 if self.kind == "month" else 3
        total = self.starts_on.year * 12 + self.starts_on.month - 1 - months
        return Period(date(total // 12, total % 12 + 1, 1), self.kind)


# The same shape with any year: said apart, so 1999-01 is told its year is out of range, not its format.
_SHAPE = re.compile(r"^\d{4}-(?:0[1-9]|1[0-2]|Q[1-4])$", re.ASCII)


def parse_period(text: str) -> Period:
    match = _PATTERN.match(text.strip())
    if match is None and _SHAPE.match(text.strip()):
        raise BadPeriod("年份须在 2000 至 2999 之间（平台自 2000 年起才有数据）/ "
                        "the year must be between 2000 and 2999 (the platform has no figures before 2000)")
    if match is None:
        raise BadPeriod("期间格式应为 2026-11（月）或 2026-Q4（季度）/ "
                        "a period is a month 2026-11 or a quarter 2026-Q4")
    year = int(match["year"])
    if match["month"]:
        return Period(date(year, int(match["month"]), 1), "month")
    return Period(date(year, (int(match["quarter"]) - 1) * 3 + 1, 1), "quarter")


def month_of(moment: datetime) -> Period:
    day = moment.astimezone(CHINA_TZ).date()
    return Period(date(day.year, day.month, 1), "month")


def quarter_of(moment: datetime) -> Period:
    day = moment.astimezone(CHINA_TZ).date()
    return Period(date(day.year, (day.month - 1) // 3 * 3 + 1, 1), "quarter")
