"""The print cut-off (notify spec §16.5): 17:30 London on working days, in both GMT and BST, and the
`estimated_delivery` it implies (§6.1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.delivery.print_days import LONDON, estimated_delivery, latest_cut_off, print_day


@pytest.mark.parametrize(
    ("now", "cut_off"),
    [
        (datetime(2031, 1, 8, 17, 30, tzinfo=UTC), datetime(2031, 1, 8, 17, 30, tzinfo=UTC)),  # GMT: 17:30 UTC
        (datetime(2031, 1, 8, 17, 29, tzinfo=UTC), datetime(2031, 1, 7, 17, 30, tzinfo=UTC)),
        (datetime(2031, 7, 9, 16, 30, tzinfo=UTC), datetime(2031, 7, 9, 16, 30, tzinfo=UTC)),  # BST: 16:30 UTC
        (datetime(2031, 7, 9, 16, 29, tzinfo=UTC), datetime(2031, 7, 8, 16, 30, tzinfo=UTC)),
        (datetime(2031, 1, 13, 9, 0, tzinfo=UTC), datetime(2031, 1, 10, 17, 30, tzinfo=UTC)),  # Monday: Friday's
        (datetime(2031, 1, 12, 18, 0, tzinfo=UTC), datetime(2031, 1, 10, 17, 30, tzinfo=UTC)),  # Sunday evening
    ],
)
def test_the_latest_cut_off(now: datetime, cut_off: datetime) -> None:
    assert latest_cut_off(now) == cut_off


@pytest.mark.parametrize(
    ("accepted", "printed"),
    [
        (datetime(2031, 7, 9, 17, 29, tzinfo=LONDON), (2031, 7, 9)),
        (datetime(2031, 7, 9, 17, 30, tzinfo=LONDON), (2031, 7, 10)),
        (datetime(2031, 7, 11, 18, 0, tzinfo=LONDON), (2031, 7, 14)),  # Friday evening: Monday
        (datetime(2031, 7, 12, 10, 0, tzinfo=LONDON), (2031, 7, 14)),  # Saturday: Monday
    ],
)
def test_the_print_day(accepted: datetime, printed: tuple[int, int, int]) -> None:
    assert print_day(accepted).timetuple()[:3] == printed
    # a letter is always due at a cut-off no earlier than its acceptance
    assert latest_cut_off(accepted) <= accepted


def test_estimated_delivery_counts_working_days_of_transit_by_postage() -> None:
    thursday = datetime(2031, 7, 10, 12, 0, tzinfo=LONDON)
    assert estimated_delivery(thursday, "first") == datetime(2031, 7, 11, 16, 0, tzinfo=LONDON)
    assert estimated_delivery(thursday, "second") == datetime(2031, 7, 14, 16, 0, tzinfo=LONDON)
    assert estimated_delivery(thursday, "economy") == datetime(2031, 7, 16, 16, 0, tzinfo=LONDON)
    assert estimated_delivery(thursday, "rest-of-world") == datetime(2031, 7, 21, 16, 0, tzinfo=LONDON)
