"""The provider-adapter interface (pay spec §13.5): what the state machine asks of a card gateway.

The state machine never knows which provider it talks to. A real acquirer is added by implementing `CardProvider`
and registering it in `services.pay.provider` (`ADAPTERS`, `build_providers`). Every call carries our own ID
(payment or refund) as its reference, so a provider can drop the duplicate that at-least-once delivery may cause.
Adapters must not assume cards are the only payment method (§15 B10): the card lives in `Card`, not in the
interface's shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum


@dataclass(frozen=True)
class Card:
    """What the payer gave. The full number and CVC exist only in this object, for the length of the
    authorisation call (§13.6): they are left out of its repr so no log line or traceback can show them."""

    number: str = field(repr=False)
    cvc: str = field(repr=False)
    expiry_month: int
    expiry_year: int
    cardholder_name: str


@dataclass(frozen=True)
class CardInfo:
    """What the provider knows about a card number (its BIN data)."""

    brand: str
    card_type: str | None
    prepaid: bool = False
    corporate: bool = False


class Outcome(StrEnum):
    authorised = "authorised"
    declined = "declined"
    error = "error"
    #: The issuer wants the payer to authenticate (3-D Secure) before it decides; only when the payer is present.
    three_ds_required = "three_ds_required"


@dataclass(frozen=True)
class AuthorisationResult:
    outcome: Outcome
    #: The provider's transaction ID, once it has one (`provider_id`, §5.2).
    provider_id: str | None = None
    #: The provider's reference to the card it saved, when `authorise` was asked to save it (agreements, §8).
    instrument_token: str | None = None
    #: On a declined authorisation with a stored instrument: whether the card may be charged again (`can_retry`).
    can_retry: bool | None = None


@dataclass(frozen=True)
class StoredInstrument:
    """A card the provider keeps for an agreement (§8, §13.6): its token, and the card fields pay keeps."""

    token: str
    first_digits: str | None
    last_digits: str | None


@dataclass(frozen=True)
class DisputeScenario:
    """A dispute the provider will raise against a payment once it is captured (pay spec §10, §13.5)."""

    #: One of `services.pay.disputes.models.REASONS`.
    reason: str
    #: `won` or `lost`.
    outcome: str
    #: The dispute fee in pence the provider charges when the dispute is lost; None if it reports no fees.
    fee: int | None
    #: From the dispute opening to `evidence_due_date`.
    evidence_window: timedelta


class ProviderError(Exception):
    """The provider refused a capture, void or refund, or could not be reached; the caller's policy retries."""


class CardProvider(ABC):
    #: The adapter's name, shown as `payment_provider` (§5.2).
    name: str
    #: Whether payments taken through this provider can be refunded (`refund_summary.status`).
    can_refund: bool = True

    @abstractmethod
    def describe(self, number: str) -> CardInfo | None:
        """Brand, type and flags of a well-formed card number, or None for a brand nobody issues."""

    @abstractmethod
    async def authorise(
        self, *, payment_id: str, amount: int, card: Card, payer_present: bool = False, save_card: bool = False
    ) -> AuthorisationResult:
        """Authorise `amount` pence on `card`, with the payment's ID as the reference.

        `payer_present` is True on the payment pages only: then, and only then, the provider may answer
        `three_ds_required` (MOTO and recurring payments never challenge the payer, §13.5). `save_card` (a set-up
        payment, §8) asks the provider to keep the card for later payments: its reference comes back as
        `instrument_token`, with an authorisation or a 3-D Secure challenge (a declined card is not saved).
        """

    @abstractmethod
    async def authorise_stored(
        self, *, payment_id: str, amount: int, instrument: StoredInstrument
    ) -> AuthorisationResult:
        """Authorise `amount` pence on a card the provider keeps, with nobody present (a recurring payment, §8). A
        decline says in `can_retry` whether the card may be charged again."""

    @abstractmethod
    async def delete_instrument(self, *, instrument_id: str, token: str) -> None:
        """Forget a stored card (its agreement was cancelled, or the card replaced); raises ProviderError."""

    @abstractmethod
    async def authorise_3ds(
        self, *, payment_id: str, provider_id: str | None, authenticated: bool
    ) -> AuthorisationResult:
        """Finish an authorisation that asked for 3-D Secure, given the payer's result. The provider kept the card
        from `authorise`, so pay never holds the card number across the challenge."""

    @abstractmethod
    async def capture(self, *, payment_id: str, provider_id: str | None, amount: int) -> None:
        """Take an authorised payment; raises ProviderError."""

    @abstractmethod
    async def void(self, *, payment_id: str, provider_id: str | None) -> None:
        """Release an authorisation that will not be captured; raises ProviderError."""

    @abstractmethod
    async def refund(self, *, refund_id: str, payment_id: str, provider_id: str | None, amount: int) -> None:
        """Return `amount` pence of a captured payment to the original card; raises ProviderError."""

    def dispute_after_capture(self, *, first_digits: str | None, last_digits: str | None) -> DisputeScenario | None:
        """The dispute this provider will raise against a payment it has just captured, if it knows one is coming.

        Only a simulated provider can know (the sandbox's dispute cards, decided by the first 6 and last 4 digits
        that pay keeps); a real adapter reports disputes through the provider's own notifications instead.
        """
        return None
