"""Report a problem to the council: sign in (GaaP identity, `Cl.Cm`), report fly-tipping, graffiti or a bulky-waste
collection, pay for the collection (GaaP pay), and get a confirmation by email and text (GaaP notify); when an
officer updates the report, the resident is told again.

Everything the service asks of the platform goes through the SDK, as any department's service would. Its own data
(sessions, reports) stays in its own SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaap_client import (
    APIError,
    AsyncIdentityClient,
    AsyncNotifyClient,
    AsyncPayClient,
    AuthorizationRequest,
    GaapError,
    SignInError,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from report_a_problem.store import Report, Store

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
COOKIE = "report_session"
PROBLEMS = {"fly-tipping": "Fly-tipping", "graffiti": "Graffiti", "bulky-waste": "Bulky waste collection"}
#: What a bulky-waste collection costs, in pence.
COLLECTION_FEE = 2500
STATUSES = ("received", "scheduled", "resolved")

#: The service's Notify templates, made through the API on first start (found by name afterwards).
NOTIFY_TEMPLATES = {
    "received_email": {
        "name": "Report a problem: received",
        "type": "email",
        "subject": "We have your report ((reference))",
        "body": "Hello,\n\nThank you for reporting ((problem)) at ((location)).\n\n"
        "((paid??We have received your payment of ((amount)) for the collection.))\n\n"
        "Your reference is ((reference)). We will tell you when the status of your report changes.",
    },
    "received_sms": {
        "name": "Report a problem: received text",
        "type": "sms",
        "body": "We have your report ((reference)) of ((problem)). We will text you when it changes.",
    },
    "update_email": {
        "name": "Report a problem: update",
        "type": "email",
        "subject": "Your report ((reference)) is now ((status))",
        "body": "Hello,\n\nYour report ((reference)) of ((problem)) at ((location)) is now ((status)).",
    },
}


@dataclass
class Config:
    base_url: str
    gateway_url: str
    notify_key: str
    notify_templates_key: str
    pay_key: str
    issuer: str
    client_id: str
    client_jwk: dict[str, Any]
    officer_token: str
    data: Path


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.data)
        self.notify = AsyncNotifyClient(config.gateway_url, config.notify_key)
        self.pay = AsyncPayClient(config.gateway_url, config.pay_key)
        self.identity = AsyncIdentityClient(
            config.issuer, config.client_id, config.client_jwk, f"{config.base_url}/callback"
        )
        self.template_ids: dict[str, str] = {}

    async def start(self) -> None:
        """Find the service's templates by name, or make them (with the template-managing key). The platform may
        still be starting (under `gaap up` everything starts together), so this waits for it, up to a minute."""
        for attempt in range(30):
            try:
                await self._provision_templates()
                return
            except GaapError:
                if attempt == 29:
                    raise
                await asyncio.sleep(2)

    async def _provision_templates(self) -> None:
        async with AsyncNotifyClient(self.config.gateway_url, self.config.notify_templates_key) as manager:
            existing = {t["name"]: t["id"] for t in await manager.templates()}
            for label, template in NOTIFY_TEMPLATES.items():
                found = existing.get(template["name"])
                if found is None:
                    made = await manager.create_template(
                        template["name"], template["type"], template["body"], subject=template.get("subject")
                    )
                    found = made["id"]
                self.template_ids[label] = found

    async def stop(self) -> None:
        for client in (self.notify, self.pay, self.identity):
            await client.aclose()

    async def confirm(self, report: Report) -> None:
        """Tell the resident their report arrived (and, if they paid, that the payment did)."""
        values = {
            "reference": report.reference,
            "problem": PROBLEMS[report.problem].lower(),
            "location": report.location,
            "paid": "yes" if report.paid else "",
            "amount": f"£{COLLECTION_FEE / 100:.2f}",
        }
        sent = [await self._email("received_email", report, values)]
        if report.mobile:
            text = await self.notify.send_sms(
                report.mobile,
                self.template_ids["received_sms"],
                personalisation=values,
                reference=report.reference,
                idempotency_key=f"{report.reference}-received-sms",
            )
            sent.append(text["id"])
        self.store.update(report.id, messages=[*report.messages, *sent])

    async def _email(self, label: str, report: Report, values: dict[str, str]) -> str:
        email = await self.notify.send_email(
            report.email,
            self.template_ids[label],
            personalisation=values,
            reference=report.reference,
            # One message per report and event, however often the step is retried.
            idempotency_key="-".join(filter(None, [report.reference, label.replace("_", "-"), values.get("status")])),
        )
        return email["id"]

    async def update_status(self, report: Report, status: str) -> None:
        self.store.update(report.id, status=status)
        values = {
            "reference": report.reference,
            "problem": PROBLEMS[report.problem].lower(),
            "location": report.location,
            "status": status,
        }
        sent = await self._email("update_email", report, values)
        self.store.update(report.id, messages=[*report.messages, sent])


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return TEMPLATES.TemplateResponse(
        request, name, {"gateway_url": request.app.state.service.config.gateway_url, **context}, status_code=status_code
    )


def _session(request: Request) -> dict[str, Any] | None:
    service: Service = request.app.state.service
    return service.store.session(request.cookies.get(COOKIE))


def _signed_in(request: Request) -> dict[str, Any] | None:
    session = _session(request)
    return session if session and session.get("sub") else None


async def home(request: Request) -> Response:
    return _page(request, "home.html", signed_in=_signed_in(request) is not None)


async def start(request: Request) -> Response:
    """Sign in first (at `Cl.Cm`), then report."""
    if _signed_in(request):
        return RedirectResponse("/report", status_code=303)
    service: Service = request.app.state.service
    sign_in = await service.identity.authorization_request(vtr="Cl.Cm")
    pending = {"state": sign_in.state, "nonce": sign_in.nonce, "verifier": sign_in.code_verifier, "url": sign_in.url}
    answer = RedirectResponse(sign_in.url, status_code=303)
    cookie = service.store.new_session({"pending": pending})
    answer.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=service.config.base_url.startswith("https"))
    return answer


async def callback(request: Request) -> Response:
    service: Service = request.app.state.service
    session = _session(request)
    pending = (session or {}).get("pending")
    if session is None or not pending:
        return _page(request, "problem.html", 400, message="Your sign-in has expired. Start again.")
    sign_in = AuthorizationRequest(pending["url"], pending["state"], pending["nonce"], pending["verifier"], ("Cl.Cm",))
    try:
        signed_in = await service.identity.finish_sign_in(str(request.url), sign_in)
        info = await service.identity.userinfo(signed_in.access_token)
    except (SignInError, APIError):
        return _page(request, "problem.html", 400, message="You could not be signed in. Start again.")
    user = {"sub": signed_in.claims["sub"], "email": info["email"], "id_token": signed_in.id_token}
    service.store.save_session(request.cookies[COOKIE], user)
    return RedirectResponse("/report", status_code=303)


async def report_form(request: Request) -> Response:
    user = _signed_in(request)
    if user is None:
        return RedirectResponse("/start", status_code=303)
    if request.method == "GET":
        return _page(request, "report.html", problems=PROBLEMS, errors={}, values={}, fee=COLLECTION_FEE / 100)
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in ("problem", "location", "details", "mobile")}
    errors = {}
    if values["problem"] not in PROBLEMS:
        errors["problem"] = "Select the problem"
    if not values["location"]:
        errors["location"] = "Enter where the problem is"
    if not values["details"]:
        errors["details"] = "Describe the problem"
    if errors:
        return _page(request, "report.html", 400, problems=PROBLEMS, errors=errors, values=values,
                     fee=COLLECTION_FEE / 100)  # fmt: skip
    service: Service = request.app.state.service
    report = service.store.add_report(
        owner=user["sub"],
        email=user["email"],
        mobile=values["mobile"] or None,
        problem=values["problem"],
        location=values["location"],
        details=values["details"],
        status="received",
    )
    try:
        if report.problem == "bulky-waste":
            payment = await service.pay.create_payment(
                COLLECTION_FEE,
                report.reference,
                f"Bulky waste collection at {report.location}"[:255],
                f"{service.config.base_url}/reports/{report.id}/paid",
                email=report.email,
                idempotency_key=f"{report.reference}-payment",
            )
            service.store.update(report.id, payment_id=payment["payment_id"])
            return RedirectResponse(payment["_links"]["next_url"]["href"], status_code=303)
        await service.confirm(report)
    except GaapError:
        return _page(request, "problem.html", 503, message="Sorry, there is a problem. Your report is saved: "
                     f"{report.reference}.")  # fmt: skip
    return RedirectResponse(f"/reports/{report.id}", status_code=303)


def _own_report(request: Request) -> Report | None:
    user = _signed_in(request)
    service: Service = request.app.state.service
    report = service.store.report(int(request.path_params["ident"]))
    return report if user is not None and report is not None and report.owner == user["sub"] else None


async def paid(request: Request) -> Response:
    """The resident is back from paying: ask pay what happened (never trust the return alone)."""
    report = _own_report(request)
    if report is None or report.payment_id is None:
        return _page(request, "problem.html", 404, message="There is no such report.")
    service: Service = request.app.state.service
    state = (await service.pay.get_payment(report.payment_id))["state"]
    if state["status"] == "success" and not report.paid:
        service.store.update(report.id, paid=1)
        refreshed = service.store.report(report.id)
        assert refreshed is not None
        try:
            await service.confirm(refreshed)
        except GaapError:
            return _page(request, "problem.html", 503, message="Your payment was received, but we could not send "
                         f"your confirmation yet. Your reference is {report.reference}.")  # fmt: skip
    return RedirectResponse(f"/reports/{report.id}", status_code=303)


async def report_page(request: Request) -> Response:
    report = _own_report(request)
    if report is None:
        return _page(request, "problem.html", 404, message="There is no such report.")
    return _page(request, "report-status.html", report=report, problem=PROBLEMS[report.problem])


async def officer_update(request: Request) -> Response:
    """A council officer changes a report's status (a bearer token: this example has no officer accounts)."""
    service: Service = request.app.state.service
    if request.headers.get("authorization") != f"Bearer {service.config.officer_token}":
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    report = service.store.report(int(request.path_params["ident"]))
    status = (await request.form()).get("status")
    if report is None or status not in STATUSES:
        return Response(html.escape("unknown report or status"), status_code=400)
    await service.update_status(report, str(status))
    return Response(status_code=204)


@contextlib.asynccontextmanager
async def _lifespan(service: Service) -> AsyncIterator[None]:
    await service.start()
    try:
        yield
    finally:
        await service.stop()


def create_app(config: Config) -> Starlette:
    service = Service(config)
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/start", start),
            Route("/callback", callback),
            Route("/report", report_form, methods=["GET", "POST"]),
            Route("/reports/{ident:int}", report_page),
            Route("/reports/{ident:int}/paid", paid),
            Route("/officer/reports/{ident:int}/status", officer_update, methods=["POST"]),
        ],
        lifespan=lambda app: _lifespan(service),
    )
    app.state.service = service
    return app
