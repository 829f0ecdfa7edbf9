"""Extra tenants for the contract tests, made exactly as `notify_rig` makes its own: a service in the gateway with a
team member and `live`/`team`/`test`/`manage` keys, pushed to notify through the outbox, then changed the way the
console changes it (`change_service`). They share the rig's gateway, notify, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.gateway.conftest import make_settings
from tests.notify.conftest import TEMPLATES, NotifyRig, _seed, change_service, manage

TRIAL_TEAM_EMAIL = "trial-team@example.gov.uk"


def another_service(rig: NotifyRig, upstreams: dict[str, str], team_email: str, **changes: object) -> NotifyRig:
    """A new live service with the rig's four keys and no templates; `changes` (e.g. `restricted=True`) are then
    applied through the gateway and pushed, before any request can warm the gateway's credential cache."""
    settings = make_settings(rig.gateway_db, rig.redis_url, {**upstreams, "notify": rig.notify_url})
    service_id, keys = asyncio.run(_seed(rig.gateway_db, settings, rig.notify_url, team_email))
    other = dataclasses.replace(rig, service_id=service_id, keys=keys, templates={})
    if changes:
        change_service(other, **changes)
    return other


@pytest.fixture(scope="module")
def trial_rig(notify_rig: NotifyRig, upstreams: dict[str, str]) -> NotifyRig:
    """A service in trial mode (`restricted`), with the rig's three templates. Its `live` key is a `normal` key made
    while the service was live: in trial mode it may only reach the team and the guest list (spec §3.3, §3.4)."""
    trial = another_service(notify_rig, upstreams, TRIAL_TEAM_EMAIL, restricted=True)
    with manage(trial.url, trial.keys["manage"]) as api:
        for channel, body in TEMPLATES.items():
            created = api.post("/v2/manage-template", json=body)
            assert created.status_code == 201, created.text
            trial.templates[channel] = created.json()["id"]
    return trial


@pytest.fixture(scope="module")
def slow_rig(notify_rig: NotifyRig, upstreams: dict[str, str]) -> NotifyRig:
    """A service whose per-minute rate limit is 1: a bucket of min(ceil(1 / 3) + 1, 1000) = 2 sends per key type."""
    return another_service(notify_rig, upstreams, "slow-team@example.gov.uk", rate_limit=1)
