"""The notify worker's recovery timings (`DeliverySettings`): the claim's lease, the job timeout that bounds how long a
crashed worker's jobs stay marked as running, and the sweeps' grace and period. The reliability suite shortens them
(tests/reliability/rig.py); production keeps the defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from gaap.settings import ConfigurationError
from services.notify.delivery import tasks
from services.notify.settings import NotifySettings
from services.notify.worker import DeliverySettings, worker_spec


def test_defaults_are_production_timings() -> None:
    spec = worker_spec(NotifySettings(), DeliverySettings())
    assert spec.job_timeout == timedelta(minutes=5)
    created = {s.name: s for s in spec.sweeps if s.name.startswith("created-")}
    assert set(created) == {"created-test", "created-priority", "created-normal", "created-bulk"}
    assert {(s.grace, s.every) for s in created.values()} == {(tasks.OVERDUE_GRACE, timedelta(minutes=1))}


def test_shorter_timings_reach_the_sweeps_and_the_job_timeout() -> None:
    delivery = DeliverySettings(
        delivery_lease_seconds=5, job_timeout_seconds=6, overdue_grace_seconds=3, sweep_every_seconds=5
    )
    spec = worker_spec(NotifySettings(sms_timeout_seconds=4, smtp_timeout_seconds=4), delivery)
    assert spec.job_timeout == timedelta(seconds=6)
    created = [s for s in spec.sweeps if s.name.startswith("created-")]
    assert {(s.grace, s.every) for s in created} == {(timedelta(seconds=3), timedelta(seconds=5))}


def test_the_job_must_outlast_the_lease() -> None:
    with pytest.raises(ValidationError, match="NOTIFY_JOB_TIMEOUT_SECONDS must be above"):
        DeliverySettings(delivery_lease_seconds=90, job_timeout_seconds=90)


def test_provider_timeouts_must_stay_below_a_shorter_lease() -> None:
    delivery = DeliverySettings(delivery_lease_seconds=10, job_timeout_seconds=20)
    with pytest.raises(ConfigurationError, match="below the 10 s lease"):
        worker_spec(NotifySettings(), delivery)


def test_a_sweep_period_the_clock_cannot_express_is_refused() -> None:
    with pytest.raises(ValueError, match="must divide a minute"):
        worker_spec(NotifySettings(), DeliverySettings(sweep_every_seconds=7))
