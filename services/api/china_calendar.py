"""The calendar the platform's dates are in: licences, ages and availability are dates in China, whatever the
server's timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()
