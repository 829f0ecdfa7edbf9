"""Search payments (pay spec §5.4): filters, every parameter checked at once (422 P0401), the paging envelope and
its links, newest first, and the short form of each result's `_links`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import update

from gaap.db.engine import Database
from services.pay.payments.models import Payment
from tests.pay.conftest import PayRig, Tenant, new_payment


@pytest.fixture(scope="module")
def searcher(pay_rig: PayRig) -> tuple[Tenant, list[dict[str, Any]]]:
    """A service of its own with five payments, the last one cancelled; each second apart in `created_date`."""
    tenant = pay_rig.tenant()
    client = pay_rig.api(tenant.account())
    made = [
        new_payment(client, reference="REF-A", email="ada@example.org"),
        new_payment(client, reference="ref-a", email="bob@example.org"),
        new_payment(client, reference="REF-B", email="ADA.L@Example.ORG"),
        new_payment(client, reference="REF-C"),
        new_payment(client, reference="REF-D"),
    ]
    assert client.post(f"/v1/payments/{made[4]['payment_id']}/cancel").status_code == 204
    base = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)

    async def spread() -> None:
        db = Database(pay_rig.pay_db, pool_size=1)
        try:
            async with db.write_session() as session:
                for index, payment in enumerate(made):
                    created = base + timedelta(seconds=index)
                    await session.execute(
                        update(Payment).where(Payment.id == payment["payment_id"]).values(created_at=created)
                    )
                await session.execute(
                    update(Payment)
                    .where(Payment.id == made[3]["payment_id"])
                    .values(
                        card_brand="visa", first_digits="444433", last_digits="1111", cardholder_name="Ada Lovelace"
                    )
                )
        finally:
            await db.dispose()

    asyncio.run(spread())
    return tenant, made


def search(rig: PayRig, tenant: Tenant, **params: Any) -> httpx.Response:
    return rig.api(tenant.account()).get("/v1/payments", params=params)


def ids(response: httpx.Response) -> list[str]:
    return [r["payment_id"] for r in response.json()["results"]]


def test_all_newest_first(pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, made = searcher
    response = search(pay_rig, tenant)
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["count"], body["page"]) == (5, 5, 1)
    assert ids(response) == [p["payment_id"] for p in reversed(made)]


def test_results_carry_only_the_search_links(pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, made = searcher
    results = {r["payment_id"]: r for r in search(pay_rig, tenant).json()["results"]}
    assert set(results[made[0]["payment_id"]]["_links"]) == {"self", "events", "refunds", "cancel"}
    assert set(results[made[4]["payment_id"]]["_links"]) == {"self", "events", "refunds"}
    assert results[made[4]["payment_id"]]["state"]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"reference": "ref-a"}, [1, 0]),
        ({"reference": "REF"}, []),
        ({"email": "ada"}, [2, 0]),
        ({"email": "EXAMPLE.org"}, [2, 1, 0]),
        ({"state": "cancelled"}, [4]),
        ({"state": "created"}, [3, 2, 1, 0]),
        ({"state": "capturable"}, []),
        ({"from_date": "2026-01-10T12:00:02Z"}, [4, 3, 2]),
        ({"to_date": "2026-01-10T12:00:02Z"}, [1, 0]),
        ({"from_date": "2026-01-10T12:00:01Z", "to_date": "2026-01-10T12:00:03Z"}, [2, 1]),
        ({"card_brand": "visa"}, [3]),
        ({"card_brand": "master-card"}, []),
        ({"first_digits_card_number": "444433"}, [3]),
        ({"last_digits_card_number": "1111"}, [3]),
        ({"cardholder_name": "lovelace"}, [3]),
        ({"agreement_id": "a" * 26}, []),
        ({"reference": "", "email": " "}, [4, 3, 2, 1, 0]),
        ({"unknown_parameter": "x"}, [4, 3, 2, 1, 0]),
    ],
)
def test_filters(
    pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]], params: dict[str, str], expected: list[int]
) -> None:
    tenant, made = searcher
    response = search(pay_rig, tenant, **params)
    assert response.status_code == 200, response.text
    assert ids(response) == [made[i]["payment_id"] for i in expected]
    assert response.json()["total"] == len(expected)


def test_paging_and_its_links(pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, made = searcher
    first = search(pay_rig, tenant, display_size=2, email="example").json()
    second = search(pay_rig, tenant, display_size=2, email="example", page=2).json()
    assert (first["total"], first["count"], first["page"]) == (3, 2, 1)
    assert (second["count"], second["page"]) == (1, 2)
    assert [r["payment_id"] for r in first["results"] + second["results"]] == [made[i]["payment_id"] for i in (2, 1, 0)]
    assert set(first["_links"]) == {"self", "first_page", "last_page", "next_page"}
    assert set(second["_links"]) == {"self", "first_page", "last_page", "prev_page"}

    def page_of(link: dict[str, str]) -> dict[str, str]:
        assert link["method"] == "GET"
        parts = urlsplit(link["href"])
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{pay_rig.gateway_url}/v1/payments"
        return dict(parse_qsl(parts.query))

    assert page_of(first["_links"]["next_page"]) == {"display_size": "2", "email": "example", "page": "2"}
    assert page_of(first["_links"]["last_page"])["page"] == "2"
    assert page_of(second["_links"]["prev_page"])["page"] == "1"
    assert page_of(second["_links"]["self"])["page"] == "2"


def test_a_page_past_the_last_is_404(pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, _made = searcher
    response = search(pay_rig, tenant, page=9)
    assert response.status_code == 404
    assert response.json() == {"code": "P0402", "description": "Page not found"}


def test_no_matches_is_an_empty_first_page(pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, _made = searcher
    body = search(pay_rig, tenant, reference="nothing").json()
    assert (body["total"], body["count"], body["results"]) == (0, 0, [])
    assert set(body["_links"]) == {"self", "first_page", "last_page"}


def test_every_bad_parameter_is_named_in_order(pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, _made = searcher
    response = search(
        pay_rig,
        tenant,
        last_digits_card_number="12a4",
        state="done",
        from_date="2026-01-10",
        page="0",
        display_size="501",
        card_brand="amex",
        reference="r" * 256,
        first_digits_card_number="12345",
        to_settled_date="2026-13-01",
        agreement_id="short",
        cardholder_name="n" * 256,
        email="e" * 255,
    )
    assert response.status_code == 422
    assert response.json() == {
        "code": "P0401",
        "description": "Invalid parameters: state, reference, email, card_brand, from_date, to_settled_date, page, "
        "display_size, agreement_id, cardholder_name, first_digits_card_number, last_digits_card_number. "
        "See Public API documentation for the correct data formats",
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("to_date", "2026-01-10T12:00:00.000Z"),
        ("from_settled_date", "10/01/2026"),
        ("display_size", "x"),
        ("page", "-1"),
    ],
)
def test_malformed_values(
    pay_rig: PayRig, searcher: tuple[Tenant, list[dict[str, Any]]], name: str, value: str
) -> None:
    tenant, _made = searcher
    response = search(pay_rig, tenant, **{name: value})
    assert response.status_code == 422
    assert response.json()["description"].startswith(f"Invalid parameters: {name}. ")
