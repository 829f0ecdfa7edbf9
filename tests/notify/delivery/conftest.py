"""The delivery tests' fixtures: the rig's notify database, one development SMTP sink for the session that posts
its receipts back through the rig's gateway, as a provider would, and the SMS providers' shared weights (the fake
SMS provider itself is the notify tests' `sms_fake`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from gaap.db import Database
from gaap.embedded.sink_receipts import ReceiptSettings
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.delivery.failover import ProviderWeights
from services.notify.settings import NotifySettings, provider_weights
from tests.notify.conftest import EMAIL_RECEIPT_PASSWORD, EMAIL_RECEIPT_USER, NotifyRig, SmsFake

#: How long the sink holds back its answer to an `smtp-slow` recipient: longer than the workers' timeout there.
SLOW_REPLY_SECONDS = 3.0


@pytest.fixture
async def db(notify_rig: NotifyRig) -> AsyncIterator[Database]:
    database = Database(notify_rig.notify_db, pool_size=2)
    yield database
    await database.dispose()


# The session fixture `email_sink`, registered once for the suite by tests/rigs.py.
def email_sink(notify_rig: NotifyRig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    receipts = ReceiptSettings(
        url=f"{notify_rig.url}/notifications/email/smtp",
        username=EMAIL_RECEIPT_USER,
        password=EMAIL_RECEIPT_PASSWORD,
        delay_seconds=0.05,
        retry_seconds=0.1,
    )
    with SmtpSink(tmp_path_factory.mktemp("mail"), receipts=receipts, slow_reply_seconds=SLOW_REPLY_SECONDS) as sink:
        yield sink


@pytest.fixture
async def weights(notify_rig: NotifyRig, sms_fake: SmsFake) -> AsyncIterator[ProviderWeights]:
    """The SMS providers' shared weights, at rest with no errors counted, and the fake provider without faults,
    before and after the test (other tests' workers may have counted errors against a provider)."""
    redis = Redis.from_url(notify_rig.redis_url)
    shared = ProviderWeights(redis, provider_weights(NotifySettings.model_fields["sms_providers"].default))
    await shared.reset()
    sms_fake.reset()
    yield shared
    await shared.reset()
    sms_fake.reset()
    await redis.aclose()
