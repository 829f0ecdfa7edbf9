"""Account notices (spec §9.1, §9.3, §9.6): an email to the account's owner when the account is created or its
password reset or changed, so someone who did not do it learns of it. It goes in the language of the page that made
the change, after the change has committed (a background task): a notice that cannot be sent is logged and changes
nothing."""

from __future__ import annotations

from starlette.requests import Request

from services.identity.deps import Provider
from services.identity.i18n import N_

NOTICES = {
    "account-created": (
        N_("Your GaaP account has been created"),
        N_("You have created an account with this email address."),
    ),
    "password-reset": (
        N_("Your GaaP password has been changed"),
        N_(
            "The password for your account was reset after a code was sent to this email address. Everywhere else "
            "that was signed in to your account has been signed out."
        ),
    ),
    "password-changed": (
        N_("Your GaaP password has been changed"),
        N_(
            "You signed in with a password that appears in lists of leaked passwords, and chose a new one. Everywhere "
            "else that was signed in to your account has been signed out."
        ),
    ),
    "second-factor-changed": (
        N_("You have changed how you get GaaP security codes"),
        N_(
            "The way you get security codes for your account was changed after a code was sent to this email "
            "address. Everywhere else that was signed in to your account has been signed out."
        ),
    ),
    "email-changed": (
        N_("The email address of your GaaP account has been changed"),
        N_(
            "Your account now uses a different email address, proven with a code sent to it. We will not send "
            "anything more about your account to this address."
        ),
    ),
    "password-changed-by-owner": (
        N_("Your GaaP password has been changed"),
        N_(
            "The password for your account was changed from your account page. Everywhere else that was signed in "
            "to your account has been signed out."
        ),
    ),
    "second-factor-changed-by-owner": (
        N_("You have changed how you get GaaP security codes"),
        N_(
            "The way you get security codes for your account was changed from your account page. Everywhere else "
            "that was signed in to your account has been signed out."
        ),
    ),
    "account-deleted": (
        N_("Your GaaP account has been deleted"),
        N_(
            "Your account, and your proven identity if you had one, have been deleted. You have been signed out "
            "of every service you used it for."
        ),
    ),
}
ADVICE = N_("If this was not you, tell the service you were using that someone may be using your email address.")


def notice_sender(op: Provider, request: Request, email: str, kind: str):  # type: ignore[no-untyped-def]
    """A coroutine function that sends the notice, for `BackgroundTasks` (the texts chosen while the request is
    still there to say which language)."""
    pages = request.app.state.pages
    lang = pages.language(request)
    subject, message = (pages.gettext(lang, text) for text in NOTICES[kind])
    advice = pages.gettext(lang, ADVICE)

    async def send() -> None:
        await op.notify.send_notice(email, subject, message, advice, kind)

    return send
