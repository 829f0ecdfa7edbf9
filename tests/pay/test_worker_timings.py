"""The pay worker's recovery timings (`PaySettings`): the claims' leases, the job timeout that bounds how long a crashed
worker's jobs stay marked as running, and the provider sweeps' grace and period. The reliability suite shortens them
(tests/reliability/rig.py); production keeps the defaults."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError

from gaap.settings import ConfigurationError
from services.pay.settings import PaySettings
from services.pay.worker import worker_spec

PROVIDER_SWEEPS = {"capture", "void", "refunds"}


def test_defaults_are_production_timings() -> None:
    settings = PaySettings()
    assert settings.provider_lease == timedelta(seconds=90)
    assert settings.webhook_lease == timedelta(seconds=60)
    spec = worker_spec(settings)
    assert spec.job_timeout == timedelta(minutes=5)
    sweeps = {sweep.name: sweep for sweep in spec.sweeps}
    assert {(sweeps[name].grace, sweeps[name].every) for name in PROVIDER_SWEEPS} == {
        (timedelta(minutes=2), timedelta(minutes=1))
    }
    # The webhook relay keeps its own period and takes every due message.
    assert (sweeps["webhooks"].grace, sweeps["webhooks"].every) == (timedelta(0), timedelta(seconds=5))


def test_shorter_timings_reach_the_sweeps_and_the_job_timeout() -> None:
    settings = PaySettings(
        provider_lease_seconds=5,
        webhook_lease_seconds=7,
        job_timeout_seconds=8,
        overdue_grace_seconds=3,
        sweep_every_seconds=5,
    )
    spec = worker_spec(settings)
    assert spec.job_timeout == timedelta(seconds=8)
    provider = [sweep for sweep in spec.sweeps if sweep.name in PROVIDER_SWEEPS]
    assert {(sweep.grace, sweep.every) for sweep in provider} == {(timedelta(seconds=3), timedelta(seconds=5))}


@pytest.mark.parametrize("lease", ["provider_lease_seconds", "webhook_lease_seconds"])
def test_the_job_must_outlast_both_leases(lease: str) -> None:
    with pytest.raises(ValidationError, match="PAY_JOB_TIMEOUT_SECONDS must be above"):
        PaySettings.model_validate({"job_timeout_seconds": 120, lease: 120})


def test_a_webhook_attempt_must_fit_in_its_lease() -> None:
    settings = PaySettings(webhook_lease_seconds=6, webhook_timeout_seconds=3)
    with pytest.raises(ConfigurationError, match="PAY_WEBHOOK_LEASE_SECONDS must be above an attempt's 6 s"):
        worker_spec(settings)


def test_a_sweep_period_the_clock_cannot_express_is_refused() -> None:
    with pytest.raises(ValueError, match="must divide a minute"):
        worker_spec(PaySettings(sweep_every_seconds=7))


@pytest.mark.parametrize(
    "field", ["provider_lease_seconds", "webhook_lease_seconds", "overdue_grace_seconds", "sweep_every_seconds"]
)
def test_timings_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        PaySettings.model_validate({field: 0})


def test_a_worker_that_sends_confirmation_emails_lets_a_job_outlive_an_attempt() -> None:
    key = f"pay-{uuid.uuid4()}-{uuid.uuid4()}"
    short = {"job_timeout_seconds": 30, "provider_lease_seconds": 5, "webhook_lease_seconds": 7}
    with pytest.raises(ConfigurationError, match="must be above a confirmation email's 60 s"):
        worker_spec(PaySettings(notify_api_key=key, notify_timeout_seconds=10, **short))
    longer = PaySettings(notify_api_key=key, notify_timeout_seconds=10, **{**short, "job_timeout_seconds": 61})
    assert worker_spec(longer).job_timeout.seconds == 61
    # Without a key nothing is sent, so the reliability suite's short job timeout stands.
    assert worker_spec(PaySettings(notify_timeout_seconds=10, **short)).job_timeout.seconds == 30
