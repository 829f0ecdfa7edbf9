"""The compiled schema check (fastjsonschema) only ever says "valid" where jsonschema says so too: a body it accepts
must have no GOV.UK message. Property-based, over every request schema, with values of every JSON type and the
strings the formats care about."""

from __future__ import annotations

from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.notify import schemas
from services.notify.validation import _validators_for
from tests.notify.test_validation import FORMATS, TEMPLATE_ID

SCHEMAS = {
    **schemas.POST_BODIES,
    "received": schemas.GET_RECEIVED_TEXT_MESSAGES_QUERY,
    "notifications": schemas.GET_NOTIFICATIONS_QUERY,
    "templates": schemas.GET_TEMPLATES_QUERY,
}
VALID = {
    "sms": {"phone_number": "07700900123", "template_id": TEMPLATE_ID},
    "email": {"email_address": "someone@example.gov.uk", "template_id": TEMPLATE_ID, "personalisation": {}},
    "letter": {"template_id": TEMPLATE_ID, "personalisation": {"address_line_1": "A", "address_line_2": "B"}},
}
INTERESTING = st.sampled_from(
    [
        TEMPLATE_ID,
        TEMPLATE_ID.upper(),
        "not-a-uuid",
        "07700900123",
        "0770090",
        "someone@example.gov.uk",
        "no-at-sign",
        "https://example.gov.uk/unsubscribe",
        "http://example.gov.uk",
        "2024-05-17T13:00:00",
        "2024-05-16T13:00:00",
        "yesterday",
        "sms",
        "email",
        "letter",
        "first",
        "second",
        "delivered",
        "true",
        "",
        "x" * 1001,
    ]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.just(1.0), INTERESTING, st.text()
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)


def bodies(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    names = list(schema.get("properties", {}))
    values = st.one_of(JSON, INTERESTING, st.dictionaries(st.sampled_from(["address_line_1", "name", "a"]), JSON))
    keyed = st.dictionaries(st.sampled_from([*names, "unexpected"]), values, max_size=len(names) + 1)
    return st.one_of(keyed, JSON)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_what_the_compiled_check_accepts_has_no_message(name: str) -> None:
    schema = SCHEMAS[name]
    validators = _validators_for(schema, FORMATS, None)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(bodies(schema))
    def agree(instance: Any) -> None:
        try:
            validators.fast(instance)
        except fastjsonschema.JsonSchemaValueException:
            return
        assert list(validators.full.iter_errors(instance)) == [], instance

    agree()


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_valid_send_takes_the_fast_path(name: str) -> None:
    _validators_for(SCHEMAS[name], FORMATS, None).fast(VALID[name])  # raises if the fast path refused it
