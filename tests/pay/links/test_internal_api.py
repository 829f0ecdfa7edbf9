"""Payment links on pay's internal API, as the console uses it (pay spec §15 B4): every problem of a document
reported by field, addresses derived or chosen and never shared between services, an account's links listed,
changed and archived, and only the gateway acting for the service allowed in."""

from __future__ import annotations

import uuid

import httpx

from services.pay.links.service import ADDRESS_TAKEN, SERVICE_SLUG_TAKEN
from services.pay.links.validation import MESSAGES, NOT_PENCE, NOT_TEXT
from tests.pay.conftest import PayRig, Tenant
from tests.pay.links.conftest import LinksApi, unique_slug


def _problems(response: httpx.Response) -> dict[str, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_a_link_is_created_with_its_public_address(links: LinksApi, pay_rig: PayRig) -> None:
    service_slug = unique_slug("council")
    response = links.create(
        title="Pay for a parking permit",
        description="Parking permit",
        amount=2500,
        language="cy",
        metadata={"cost_code": "PK-1", "ledger": 12, "vat": False},
        service_slug=service_slug,
    )
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["service_slug"] == service_slug and link["slug"] == "pay-for-a-parking-permit"
    assert link["url"] == f"{pay_rig.gateway_url}/link/{service_slug}/pay-for-a-parking-permit"
    assert link["status"] == "active" and link["mode"] == "test" and link["language"] == "cy"
    assert (link["amount"], link["min_amount"], link["max_amount"]) == (2500, None, None)
    assert link["reference_label"] is None and link["archived_date"] is None
    assert link["metadata"] == {"cost_code": "PK-1", "ledger": 12, "vat": False}
    assert links.client.get(links.path(link_id=link["id"])).json() == link


def test_every_problem_of_a_document_is_reported_by_field(links: LinksApi) -> None:
    empty = links.create()
    assert empty.status_code == 422 and empty.json()["error"] == "InvalidPaymentLink"
    assert _problems(empty) == {"title": MESSAGES["title"], "description": MESSAGES["description"]}

    bad = links.create(
        title="x" * 256,
        description="A <b>bold</b> claim",
        amount=0,
        min_amount=500,
        max_amount=100,
        reference_hint="On your letter",
        language="fr",
        metadata={"": "no name"},
        service_slug="Not A Slug",
        slug="-",
        colour="blue",
    )
    assert _problems(bad) == {
        "title": MESSAGES["title_long"],
        "description": MESSAGES["description_characters"],
        "amount": MESSAGES["amount_range"],
        "max_amount": MESSAGES["max_below_min"],
        "reference_hint": MESSAGES["hint_without_label"],
        "language": MESSAGES["language"],
        "metadata": MESSAGES["metadata"],
        "service_slug": MESSAGES["slug"],
        "slug": MESSAGES["slug"],
        "colour": MESSAGES["unknown"],
    }
    fixed_and_range = links.create(title="T", description="D", amount=100, max_amount=10_000_001)
    assert _problems(fixed_and_range) == {
        "amount": MESSAGES["fixed_with_range"],
        "max_amount": MESSAGES["amount_range"],
    }
    types = links.create(title=5, description="D", min_amount="5.00", reference_label=["a"])
    assert _problems(types) == {"title": NOT_TEXT, "min_amount": NOT_PENCE, "reference_label": NOT_TEXT}
    too_many = links.create(title="T", description="D", metadata={f"k{i}": i for i in range(16)})
    assert _problems(too_many) == {"metadata": MESSAGES["metadata"]}
    same_key = links.create(title="T", description="D", metadata={"Code": "a", "code": "b"})
    assert _problems(same_key) == {"metadata": MESSAGES["metadata"]}

    not_json = links.client.post(links.path(), content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"] == "BadRequest"
    not_object = links.client.post(links.path(), json=[1])
    assert not_object.status_code == 400 and "request_id" in not_object.json()
    assert links.client.post(links.path("other"), json={}).status_code == 400  # not a mode


def test_addresses_are_derived_and_never_shared(pay_rig: PayRig) -> None:
    links = LinksApi(pay_rig, pay_rig.tenant())
    service_slug = unique_slug("parking")
    first = links.link(title="Résumé: parking ŵ fines!", service_slug=service_slug)
    assert first["slug"] == "resume-parking-w-fines"
    # The service's first service slug is the default of its later links; a taken slug gets a number.
    second = links.link(title="Résumé: parking ŵ fines!", service_slug=None)
    assert (second["service_slug"], second["slug"]) == (service_slug, "resume-parking-w-fines-2")
    third = links.link(title="Resume parking w fines", service_slug=None)
    assert third["slug"] == "resume-parking-w-fines-3"
    chosen = links.link(slug="permits", service_slug=service_slug)
    assert chosen["url"].endswith(f"/link/{service_slug}/permits")

    again = links.create(title="T", description="D", amount=100, service_slug=service_slug, slug="permits")
    assert again.status_code == 409 and again.json()["error"] == "PaymentLinkAddressTaken"
    assert _problems(again) == {"slug": ADDRESS_TAKEN}
    no_letters = links.create(title="!!!", description="D", amount=100, service_slug=service_slug)
    assert _problems(no_letters) == {"slug": MESSAGES["no_slug"]}

    other = LinksApi(pay_rig, pay_rig.tenant())
    try:
        taken = other.create(title="T", description="D", amount=100, service_slug=service_slug, slug="mine")
        assert taken.status_code == 409 and _problems(taken) == {"service_slug": SERVICE_SLUG_TAKEN}
        # Its own links go under its own name: "pay", the rig's service name, unless another service has it.
        derived = other.create(title="T", description="D", amount=100)
        if derived.status_code == 201:
            assert derived.json()["service_slug"] == "pay"
        else:
            assert _problems(derived) == {"service_slug": SERVICE_SLUG_TAKEN}
    finally:
        other.client.close()
        links.client.close()


def test_links_are_listed_changed_and_archived(links: LinksApi, pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()
    api = LinksApi(pay_rig, tenant)
    try:
        older = api.link(title="Older")
        newer = api.link(title="Newer", amount=None, min_amount=500, max_amount=5000, reference_label="Invoice")
        live = api.link("live", title="Live one")
        listed = api.client.get(api.path()).json()["payment_links"]
        assert [link["id"] for link in listed] == [newer["id"], older["id"]]
        assert [link["id"] for link in api.client.get(api.path("live")).json()["payment_links"]] == [live["id"]]
        assert api.client.get(api.path("live", older["id"])).status_code == 404  # another account's

        changed = api.client.put(
            api.path(link_id=older["id"]),
            json={"title": "Renamed", "description": "New words", "min_amount": 100, "reference_label": "Case"},
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["title"], body["amount"], body["min_amount"], body["reference_label"]) == (
            "Renamed",
            None,
            100,
            "Case",
        )
        assert (body["service_slug"], body["slug"]) == (older["service_slug"], older["slug"])
        moving = api.client.put(api.path(link_id=older["id"]), json={"title": "T", "description": "D", "slug": "x"})
        assert moving.status_code == 422 and _problems(moving) == {"slug": MESSAGES["unknown"]}

        archived = api.client.post(api.path(link_id=older["id"]) + "/archive")
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
        assert archived.json()["archived_date"] is not None
        assert api.client.post(api.path(link_id=older["id"]) + "/archive").json() == archived.json()
        refused = api.client.put(api.path(link_id=older["id"]), json={"title": "T", "description": "D"})
        assert refused.status_code == 409 and refused.json()["error"] == "PaymentLinkArchived"
        active = api.client.get(api.path(), params={"status": "active"}).json()["payment_links"]
        assert [link["id"] for link in active] == [newer["id"]]
        gone = api.client.get(api.path(), params={"status": "archived"}).json()["payment_links"]
        assert [link["id"] for link in gone] == [older["id"]]
        missing = api.client.post(api.path(link_id="0" * 26) + "/archive")
        assert missing.status_code == 404 and missing.json()["error"] == "PaymentLinkNotFound"
    finally:
        api.client.close()


def test_only_the_gateway_acting_for_the_service_may_call(links: LinksApi, pay_rig: PayRig) -> None:
    not_internal = LinksApi(pay_rig, pay_rig.main, scopes=frozenset({"pay"}))
    try:
        assert not_internal.client.get(not_internal.path()).status_code == 403
    finally:
        not_internal.client.close()
    other_service = links.client.get(
        f"/internal/services/{uuid.uuid4()}/accounts/test/payment-links",
    )
    assert other_service.status_code == 403 and other_service.json()["error"] == "WrongService"
    assert httpx.get(pay_rig.pay_url + links.path(), timeout=10).status_code == 401


def test_a_service_pay_does_not_know_has_no_links(pay_rig: PayRig) -> None:
    unknown = LinksApi(pay_rig, Tenant(uuid.uuid4(), {}))
    try:
        refused = unknown.create(title="T", description="D", amount=100)
        assert refused.status_code == 404 and refused.json()["error"] == "AccountNotFound"
        assert unknown.client.get(unknown.path()).json() == {"payment_links": []}
    finally:
        unknown.client.close()
