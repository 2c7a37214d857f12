"""Stripe: the only module that knows Stripe's API and JSON.

Everything else gets plain snapshots (dataclasses) and our own errors:
`TransientProviderError` (retry later: network, 429, 5xx) or `PermanentProviderError` (retrying
will not help). Payload shapes follow the API version pinned by the installed stripe-python; since
2025-03-31 the billing period lives on subscription items and an invoice names its subscription
under `parent.subscription_details`.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import stripe
from django.conf import settings

from organisations.providers import PermanentProviderError, TransientProviderError

PROVIDER = "stripe"


class InvalidSignature(Exception):
    """The delivery cannot be shown to come from Stripe (signature, secret or timestamp)."""


class MalformedEvent(Exception):
    """A correctly signed delivery whose body is not an event we can read."""


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    if not configured():
        raise PermanentProviderError(
            "Stripe is not configured (STRIPE_SECRET_KEY)", provider=PROVIDER
        )
    # requests, explicitly: tests mock it at the transport. No SDK retries: our tasks and
    # Stripe's webhook redelivery retry with backoff, without holding a request open.
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, http_client=stripe.RequestsClient(), max_network_retries=0
    )


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        status = exc.http_status
        transient = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
            status is not None and (status >= 500 or status in (409, 429))
        )
        error = TransientProviderError if transient else PermanentProviderError
        raise error(exc.user_message or str(exc), provider=PROVIDER, status=status) from exc


def _time(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _id(value) -> str:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


# ---------------------------------------------------------------------------------------------
# Snapshots


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: str
    customer_id: str
    status: str
    price_ids: tuple[str, ...]
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    trial_end: datetime | None
    canceled_at: datetime | None
    organisation_id: str

    @property
    def subscription_id(self) -> str:
        return self.id


def subscription_from(obj: dict) -> SubscriptionSnapshot:
    items = (obj.get("items") or {}).get("data") or []
    # Items may bill on different cycles; the one renewing first is the period we show.
    periods = sorted(
        (item["current_period_end"], item["current_period_start"])
        for item in items
        if item.get("current_period_end")
    )
    end, start = periods[0] if periods else (None, None)
    return SubscriptionSnapshot(
        id=obj["id"],
        customer_id=_id(obj.get("customer")),
        status=obj["status"],
        price_ids=tuple(_id(item.get("price")) for item in items if item.get("price")),
        current_period_start=_time(start),
        current_period_end=_time(end),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        trial_end=_time(obj.get("trial_end")),
        canceled_at=_time(obj.get("canceled_at")),
        organisation_id=(obj.get("metadata") or {}).get("organisation_id", ""),
    )


@dataclass(frozen=True)
class InvoiceSnapshot:
    id: str
    customer_id: str
    subscription_id: str
    organisation_id: str
    number: str
    status: str
    amount_due: int
    amount_paid: int
    currency: str
    hosted_invoice_url: str
    invoice_pdf: str
    period_start: datetime | None
    period_end: datetime | None
    created: datetime
    paid_at: datetime | None


def invoice_from(obj: dict) -> InvoiceSnapshot:
    parent = (obj.get("parent") or {}).get("subscription_details") or {}
    return InvoiceSnapshot(
        id=obj["id"],
        customer_id=_id(obj.get("customer")),
        subscription_id=_id(parent.get("subscription")),
        organisation_id=(parent.get("metadata") or {}).get("organisation_id", ""),
        number=obj.get("number") or "",
        status=obj.get("status") or "draft",
        amount_due=obj.get("amount_due") or 0,
        amount_paid=obj.get("amount_paid") or 0,
        currency=obj.get("currency") or "usd",
        hosted_invoice_url=obj.get("hosted_invoice_url") or "",
        invoice_pdf=obj.get("invoice_pdf") or "",
        period_start=_time(obj.get("period_start")),
        period_end=_time(obj.get("period_end")),
        created=_time(obj["created"]),
        paid_at=_time((obj.get("status_transitions") or {}).get("paid_at")),
    )


@dataclass(frozen=True)
class CheckoutSnapshot:
    id: str
    mode: str
    customer_id: str
    subscription_id: str
    organisation_id: str


def checkout_from(obj: dict) -> CheckoutSnapshot:
    return CheckoutSnapshot(
        id=obj["id"],
        mode=obj.get("mode") or "",
        customer_id=_id(obj.get("customer")),
        subscription_id=_id(obj.get("subscription")),
        organisation_id=obj.get("client_reference_id")
        or (obj.get("metadata") or {}).get("organisation_id", ""),
    )


@dataclass(frozen=True)
class Event:
    """A verified webhook event. `customer_id`, `subscription_id` and `organisation_id` are the
    hints its object gives about which organisation it concerns (any may be empty)."""

    id: str
    type: str
    created: datetime
    livemode: bool
    object: dict = field(repr=False)
    customer_id: str = ""
    subscription_id: str = ""
    organisation_id: str = ""

    @property
    def kind(self) -> str:
        return self.object.get("object", "")

    def subscription(self) -> SubscriptionSnapshot:
        return subscription_from(self.object)

    def invoice(self) -> InvoiceSnapshot:
        return invoice_from(self.object)

    def checkout(self) -> CheckoutSnapshot:
        return checkout_from(self.object)


_PARSERS = {
    "subscription": subscription_from,
    "invoice": invoice_from,
    "checkout.session": checkout_from,
}


def _hints(obj: dict) -> dict:
    parse = _PARSERS.get(obj.get("object"))
    if parse is None:
        return {"customer_id": _id(obj.get("customer"))}
    found = parse(obj)
    return {
        "customer_id": found.customer_id,
        "subscription_id": found.subscription_id,
        "organisation_id": found.organisation_id,
    }


def verify_event(body: bytes, signature: str | None) -> Event:
    """Check the `Stripe-Signature` header (HMAC and the 5-minute tolerance) and read the event.

    Raises InvalidSignature (answer 403, write nothing) or MalformedEvent (answer 400).
    """
    try:
        stripe.Webhook.construct_event(body, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        # A body that is not UTF-8 cannot be verified, so it is unauthenticated rather than bad.
        raise InvalidSignature(str(exc)) from exc
    except Exception as exc:
        # Verified, but the SDK could not build an event from it (not JSON, not an object...).
        raise MalformedEvent(f"{type(exc).__name__}: {exc}") from exc
    return parse_event(body)


def parse_event(body: bytes | str) -> Event:
    """Read an event body that was verified when it arrived (also used to replay stored ones)."""
    try:
        data = json.loads(body)
        obj = data["data"]["object"]
        event_id, event_type = data["id"], data["type"]
        if not (
            isinstance(obj, dict) and isinstance(event_id, str) and isinstance(event_type, str)
        ):
            raise TypeError("id, type and data.object have the wrong types")
        return Event(
            id=event_id,
            type=event_type,
            created=_time(int(data["created"])),
            livemode=bool(data.get("livemode")),
            object=obj,
            **_hints(obj),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"Not a Stripe event: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Calls


def retrieve_subscription(subscription_id: str) -> SubscriptionSnapshot:
    """Stripe's current state of a subscription: events are only a hint to come and look, because
    they arrive late, twice or out of order."""
    with _translated_errors():
        found = _client().v1.subscriptions.retrieve(subscription_id)
    return subscription_from(found.to_dict())


def create_checkout_session(
    *,
    organisation_id: str,
    price_id: str,
    metered_price_id: str,
    customer_id: str,
    customer_email: str,
    trial_days: int,
    success_url: str,
    cancel_url: str,
) -> str:
    """A Checkout Session in subscription mode for one plan; returns the URL to send the owner to.

    With trial days, no card is asked for up front and a trial that ends without one pauses the
    subscription (our read-only state) instead of cancelling it.
    """
    line_items = [{"price": price_id, "quantity": 1}]
    if metered_price_id:
        line_items.append({"price": metered_price_id})  # metered prices take no quantity
    subscription_data: dict = {"metadata": {"organisation_id": organisation_id}}
    params: dict = {
        "mode": "subscription",
        "line_items": line_items,
        "client_reference_id": organisation_id,
        "metadata": {"organisation_id": organisation_id},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "subscription_data": subscription_data,
    }
    if customer_id:
        params["customer"] = customer_id
    elif customer_email:
        params["customer_email"] = customer_email
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
        subscription_data["trial_settings"] = {"end_behavior": {"missing_payment_method": "pause"}}
        params["payment_method_collection"] = "if_required"
    with _translated_errors():
        session = _client().v1.checkout.sessions.create(params)
    return session.url


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    with _translated_errors():
        session = _client().v1.billing_portal.sessions.create(
            {"customer": customer_id, "return_url": return_url}
        )
    return session.url


def report_minutes(*, customer_id: str, minutes: int, identifier: str, timestamp: datetime) -> None:
    """Add `minutes` to the customer's call-minutes meter.

    `identifier` makes it count once: Stripe refuses an identifier it has seen in the last 24 h,
    with a 400 saying an event "already exists with identifier", which therefore means delivered.
    """
    params = {
        "event_name": settings.STRIPE_METER_EVENT_NAME,
        "identifier": identifier,
        "timestamp": int(timestamp.timestamp()),
        "payload": {"stripe_customer_id": customer_id, "value": str(minutes)},
    }
    try:
        with _translated_errors():
            _client().v1.billing.meter_events.create(params)
    except PermanentProviderError as exc:
        if "already exists with identifier" not in str(exc):
            raise
