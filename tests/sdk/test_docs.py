"""Every Python example in docs/sdk.md runs, against the real platform."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from gaap.webhooks import sign
from tests.identity.conftest import IdentityRig
from tests.notify.conftest import NotifyRig
from tests.pay.conftest import PayRig
from tests.sdk.conftest import ON_POSTGRES

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
BODY = b'{"event_type":"card_payment_succeeded"}'


def test_the_guide_has_examples() -> None:
    assert len(EXAMPLES) >= 6


@ON_POSTGRES
@pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)
@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(
    index: int,
    notify_rig: NotifyRig,
    pay_rig: PayRig,
    identity_rig: IdentityRig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace = {
        "BASE_URL": notify_rig.url,
        "NOTIFY_KEY": notify_rig.keys["test"],
        "PAY_KEY": pay_rig.main.keys["test"],
        "TEMPLATE_ID": notify_rig.templates["email"],
        "WEBHOOK_SECRET": "whsec_example",
        "REQUEST_BODY": BODY,
        "REQUEST_HEADERS": {"Pay-Signature-V2": sign(BODY, ["whsec_example"])},
        "ISSUER": identity_rig.issuer,
        "CLIENT_ID": "docs-example",
        "CLIENT_PRIVATE_JWK": ECKey.generate_key("P-256").as_dict(private=True),
    }
    if "PayClient" in EXAMPLES[index]:
        namespace["BASE_URL"] = pay_rig.gateway_url  # the pay rig has its own gateway
    exec(compile(EXAMPLES[index], f"docs/sdk.md example {index + 1}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert printed.strip(), "each example prints what it got"
    assert "refused" not in printed
