"""When letters are printed (notify spec §6.1 `estimated_delivery`, §16.5): the one definition of the print cut-off.

Letters are collated once a working day for the print provider: everything accepted before 17:30 London time on
a working day (Monday to Friday) goes in that evening's batch; a letter accepted after it, or at a weekend, waits
for the next working day's. The collation job (`delivery.letters`) asks for the latest cut-off that has passed;
the API's `estimated_delivery` asks for the day a letter is printed. Both read the rules here, so what the API
promises and what the worker does cannot drift apart. Bank holidays are not modelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
#: notify spec §16.5: the print cut-off, London time.
PRINT_CUT_OFF = time(17, 30)
#: Working days from printing to delivery, by postage (§5.4: `europe` and `rest-of-world` for abroad).
TRANSIT_DAYS = {"first": 1, "second": 2, "economy": 4, "europe": 5, "rest-of-world": 7}
#: The time of day, London, that `estimated_delivery` names on its day.
DELIVERED_BY = time(16, 0)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def cut_off_on(day: date) -> datetime:
    """The cut-off instant of `day` (London), in UTC."""
    return datetime.combine(day, PRINT_CUT_OFF, tzinfo=LONDON).astimezone(UTC)


def print_day(accepted_at: datetime) -> date:
    """The working day whose batch a letter accepted at `accepted_at` goes in."""
    local = accepted_at.astimezone(LONDON)
    day = local.date()
    if is_working_day(day) and local.time() < PRINT_CUT_OFF:
        return day
    return next_working_day(day)


def latest_cut_off(now: datetime) -> datetime:
    """The last cut-off at or before `now`: letters accepted before it are due for print."""
    day = now.astimezone(LONDON).date()
    while not (is_working_day(day) and cut_off_on(day) <= now):
        day -= timedelta(days=1)
    return cut_off_on(day)


def estimated_delivery(accepted_at: datetime, postage: str) -> datetime:
    """The latest expected delivery: the print day, then the postage's transit days, counting working days."""
    day = print_day(accepted_at)
    for _ in range(TRANSIT_DAYS.get(postage, TRANSIT_DAYS["second"])):
        day = next_working_day(day)
    return datetime.combine(day, DELIVERED_BY, tzinfo=LONDON).astimezone(UTC)
