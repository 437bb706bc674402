"""How far from today the dates a client gives may lie: every such bound of worker profiles and job postings here.

`calendar_window` (1900–2999) keeps out what cannot be stored and read back. These bounds keep out dates that can
be stored but cannot be meant: a worker available from 9999-12-31 (a placeholder for "no end" in the wrong
field), a posting starting in 2062 (a typo for 2026) or a new posting whose work started years ago. They are
checked by the services' validation (`worker_profiles.service.validate_worker`, `jobs.service.validate_job`)
against the day in China, so the API, merged PATCHes and bulk imports (whose rows go through those same
services) refuse the same dates with the same messages.

A bound ahead of today never makes a stored row invalid later (a date inside it stays inside as days pass). The
one bound behind today, a posting's start, is checked only when the start is given for a new posting or changed,
so editing or renewing an older posting is not refused for a start date it was allowed to have.

A broker's licence is bounded ahead (`LICENCE_YEARS_AHEAD`) and, loosely, behind (`LICENCE_YEARS_BACK`): one that
has ended is a record (a lapsed or withdrawn licence), which the licence check then refuses to act on, but one that
ended centuries ago (1570 for 2026 was stored) is a typo, not a record.

What is deliberately not bounded: `available_from` in the past (it reads "available since", i.e. now; a profile
whose availability has ended is refused by its `available_until`), and a posting's `expires_at`, which has its
own setting (`JOB_MAX_TTL_DAYS`, 90 days ahead at most).
"""

from __future__ import annotations

from datetime import date, timedelta

# A worker's availability (`available_from`, `available_until`) at most this many years ahead. Generous on
# purpose: a broker may register someone finishing school or a contract in a few years. A person with no end
# date leaves `available_until` empty.
AVAILABILITY_YEARS_AHEAD = 5

# A posting's `start_date` at most this many years ahead: a posting stays up 90 days between renewals, so work
# that starts later than that is posted too early, or the year is wrong.
JOB_START_YEARS_AHEAD = 1

# A new posting's `start_date` (or a changed one) at most this many days back: work under way for a while
# ("started last month, still hiring") is fine; a start years ago, or last year's date typed in January, is not.
# As long as the longest a posting stays up without renewal (JOB_MAX_TTL_DAYS' default).
JOB_START_DAYS_BACK = 90

# A posting's `end_date` at most this many years ahead (fixed-term labour contracts run up to a few years); an
# open-ended job leaves `end_date` empty.
JOB_END_YEARS_AHEAD = 5

# A broker's HR-service licence at most this many years ahead. Provinces issue them for a few years (or without a
# term since 2018, where the platform still needs a date to check); 9999-12-31 standing in for "no end" would
# make the licence check meaningless.
LICENCE_YEARS_AHEAD = 10

# A broker's licence ended at most this many years ago. A withdrawal dates it today or yesterday, and a broker
# registered with a lapsed licence lapsed recently; the bound only keeps out a mistyped year.
LICENCE_YEARS_BACK = 10

# Consent recorded a little in the future is clock skew between the broker's tool and us, not fiction.
CONSENT_CLOCK_SKEW = timedelta(minutes=10)


def years_after(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def latest_availability(today: date) -> date:
    return years_after(today, AVAILABILITY_YEARS_AHEAD)


def latest_job_start(today: date) -> date:
    return years_after(today, JOB_START_YEARS_AHEAD)


def earliest_new_job_start(today: date) -> date:
    return today - timedelta(days=JOB_START_DAYS_BACK)


def latest_licence_end(today: date) -> date:
    return years_after(today, LICENCE_YEARS_AHEAD)


def earliest_licence_end(today: date) -> date:
    return years_after(today, -LICENCE_YEARS_BACK)


def latest_job_end(today: date) -> date:
    return years_after(today, JOB_END_YEARS_AHEAD)
