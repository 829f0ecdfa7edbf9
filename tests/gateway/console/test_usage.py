"""The Usage page and the sign-in activity in the console, with the real notify, pay and identity behind the gateway
answering on their internal APIs: today's rate-limit headroom, messages, payments (a real payment shows up) and
sign-ins (the console's own sign-ins, recorded by identity as it issued their codes), in English and Welsh; every
team member may see them, no one else; and no personal data reaches the pages."""

from __future__ import annotations

import asyncio
import re
import uuid

from gateway.console.usage import Chart
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig, _add_member


def _usage(service_id: uuid.UUID) -> str:
    return f"/console/services/{service_id}/usage"


def table(page: str, table_id: str) -> list[list[str]]:
    """The rows of a table on the page, as the texts of their cells (tags dropped, spaces collapsed)."""
    found = re.search(rf'<table class="govuk-table"\s+id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", found.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in row] for row in cells]


def count(cell: str) -> int:
    """A count as the page shows it ("1,234")."""
    return int(cell.replace(",", ""))


def row_of(rows: list[list[str]], name: str) -> list[str]:
    return next(row for row in rows if row[0] == name)


def test_a_member_sees_usage_and_a_new_payment_counts(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["send_messages"])  # any role: every team member may see usage
    first = browser.sign_in_to_console(member, f"/console/services/{console_rig.demo_service_id}")
    assert _usage(console_rig.demo_service_id) in first.text

    before = browser.get(_usage(console_rig.demo_service_id), params={"mode": "test"})
    assert before.status_code == 200, before.text[:500]
    console_rig.successful_payment(f"US-{uuid.uuid4().hex[:8]}", amount=1234)
    page = browser.get(_usage(console_rig.demo_service_id), params={"mode": "test"})
    assert page.status_code == 200

    limits = table(page.text, "daily-limits")
    assert [row[0] for row in limits[1:]] == ["Emails", "Text messages", "Letters", "International text messages"]
    assert all(count(cell) >= 0 for row in limits[1:] for cell in row[1:])
    per_minute = table(page.text, "per-minute")
    assert [row[0] for row in per_minute[1:]] == ["Live", "Team and guest list", "Test"]
    assert all(row[1] == "3,000" for row in per_minute[1:])  # the service's rate limit

    success_before = row_of(table(before.text, "payments-by-state"), "Success")
    success_after = row_of(table(page.text, "payments-by-state"), "Success")
    assert count(success_after[1]) == count(success_before[1]) + 1
    amount = lambda row: int(row[2].replace("£", "").replace(",", "").replace(".", ""))  # noqa: E731
    assert amount(success_after) == amount(success_before) + 1234
    today = table(page.text, "payments-by-day")[-1]
    assert count(today[2]) >= 1 and today[0] == re.search(r"From \S+ to (\S+)\.", page.text).group(1)  # type: ignore[union-attr]
    assert len(table(page.text, "payments-by-day")) == 1 + 7
    assert (
        'role="img"' in page.text and '<title id="payments-chart-title">Payments created each day</title>' in page.text
    )

    month = browser.get(_usage(console_rig.demo_service_id), params={"days": "30", "mode": "nonsense"})
    assert month.status_code == 200
    assert len(table(month.text, "messages-by-day")) == 1 + 30
    assert "Live account." in month.text  # an unknown account is the live one
    assert (
        len(table(browser.get(_usage(console_rig.demo_service_id), params={"days": "9"}).text, "sign-ins-by-day")) == 8
    )

    welsh = browser.get(_usage(console_rig.demo_service_id), params={"lang": "cy"})
    assert "Defnydd" in welsh.text and "Terfynau cyfradd heddiw" in welsh.text


def test_sign_ins_to_the_console_show_in_its_usage_without_personal_data(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    person = console_rig.person()
    asyncio.run(_add_member(console_rig.gateway_db, console_rig.console_service_id, person.email, ["send_messages"]))
    before = browser.sign_in_to_console(person, _usage(console_rig.console_service_id))  # this sign-in counts
    assert before.status_code == 200
    levels = table(before.text, "sign-ins-by-level")
    assert count(row_of(levels, "Cl.Cm: a password and a second factor")[1]) >= 1
    assert row_of(levels, "Cl: a password")[1] == "0"  # the console asks for Cl.Cm

    activity = browser.get(f"/console/services/{console_rig.console_service_id}/sign-ins")
    assert activity.status_code == 200
    rows = table(activity.text, "sign-ins")
    newest = rows[1]
    assert newest[1] == "GaaP console (gaap-console)"
    assert newest[2] == "Cl.Cm: a password and a second factor"
    assert newest[3] == "Not asked for"
    assert re.fullmatch(r"[A-Za-z0-9_-]{8}…", newest[4]), newest
    listed = re.search(r'<table class="govuk-table"\s+id="sign-ins">.*?</table>', activity.text, re.S)
    assert listed and "@" not in listed.group(0)  # no one's email address
    welsh = browser.get(f"/console/services/{console_rig.console_service_id}/sign-ins", params={"lang": "cy"})
    assert "Gweithgarwch mewngofnodi" in welsh.text


def test_only_the_team_sees_a_services_usage(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    for path in (_usage(console_rig.demo_service_id), f"/console/services/{console_rig.demo_service_id}/sign-ins"):
        assert browser.get(path).status_code == 303  # no session: to sign in
    browser.sign_in_to_console(console_rig.member(["view_payments"]))
    assert browser.get(_usage(console_rig.console_service_id)).status_code == 404  # not on that team
    assert browser.get(f"/console/services/{console_rig.console_service_id}/sign-ins").status_code == 404
    assert browser.get(_usage(uuid.uuid4())).status_code == 404


def test_a_chart_scales_its_bars_to_the_busiest_day() -> None:
    chart = Chart.of([("2026-03-01", 2), ("2026-03-02", 0), ("2026-03-03", 8)])
    assert (chart.width, chart.peak, chart.peak_day) == (30, 8, "2026-03-03")
    assert [(bar.x, bar.height) for bar in chart.bars] == [(1.0, 25.0), (11.0, 0.0), (21.0, 100.0)]
    empty = Chart.of([("2026-03-01", 0)])
    assert (empty.peak, empty.peak_day, empty.bars[0].height) == (1, None, 0.0)
