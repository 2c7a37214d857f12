"""Processing Stripe webhook events: store first, then find the organisation, then apply.

Stripe delivers at least once and in any order, so:
* every verified delivery is stored under its unique event id before anything else, and an event
  already processed is acknowledged without being applied again;
* subscription state is never taken from the event: each event only says which subscription to
  fetch, and the row is updated from Stripe's current object, under a row lock, so a late or
  repeated event can only re-apply the newest state;
* invoices only move forward (see models.INVOICE_STAGE).
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing import stripe as stripe_api
from billing.entitlements import DATE, PAYMENT_FAILED_NOTICE
from billing.models import Invoice, Plan, StripeEvent, Subscription
from billing.notify import notify_owners
from organisations.models import Notification, Organisation
from organisations.providers import TransientProviderError
from organisations.tenancy import platform_transaction, tenant_transaction

logger = logging.getLogger(__name__)

SAFE_HEADERS = ("Stripe-Signature", "User-Agent", "Content-Type", "Content-Length")


def store(event: stripe_api.Event, body: bytes, headers) -> StripeEvent:
    """Keep the raw delivery (once per event id) before processing it."""
    with platform_transaction():
        record, _created = StripeEvent.objects.get_or_create(
            event_id=event.id,
            defaults={
                "type": event.type,
                "livemode": event.livemode,
                "stripe_created_at": event.created,
                "body": body.decode(),
                "headers": {name: headers[name] for name in SAFE_HEADERS if name in headers},
            },
        )
    return record


@dataclass(frozen=True)
class Outcome:
    processed: bool
    duplicate: bool = False
    transient: bool = False  # worth Stripe delivering it again soon
    error: str = ""


def process(record_id, *, replay: bool = False) -> Outcome:
    """Apply a stored event once (again if `replay`, from the admin). Failures are recorded on
    the row, never raised, so the delivery stays stored and can be retried."""
    with platform_transaction():
        # The lock makes a concurrent redelivery of the same event wait, then see it processed.
        record = StripeEvent.objects.select_for_update().get(pk=record_id)
        if record.processed_at is not None and not replay:
            return Outcome(processed=True, duplicate=True)
        record.attempts += 1
        event = stripe_api.parse_event(record.body)
        try:
            with transaction.atomic():
                record.organisation = organisation_for(event)
                handler = HANDLERS.get(event.type)
                if handler is not None and record.organisation is not None:
                    with tenant_transaction(record.organisation):
                        handler(event, record.organisation)
        except Exception as exc:
            transient = isinstance(exc, TransientProviderError)
            if not transient:
                logger.exception("Stripe event %s (%s) failed", event.id, event.type)
            record.error = f"{type(exc).__name__}: {exc}"
            record.save(update_fields=["attempts", "error"])
            return Outcome(processed=False, transient=transient, error=record.error)
        record.error = (
            "" if record.organisation or event.type not in HANDLERS else _unmatched(event)
        )
        record.processed_at = timezone.now()
        record.save(update_fields=["attempts", "error", "processed_at", "organisation"])
    return Outcome(processed=True, error=record.error)


def _unmatched(event: stripe_api.Event) -> str:
    logger.warning("Stripe event %s (%s) matches no organisation", event.id, event.type)
    return (
        f"No organisation for customer {event.customer_id or '-'}, subscription "
        f"{event.subscription_id or '-'}, organisation id {event.organisation_id or '-'}"
    )


def organisation_for(event: stripe_api.Event) -> Organisation | None:
    """The organisation an event concerns: by the Stripe ids we stored, else by the organisation
    id our Checkout Session put in `client_reference_id`/metadata (the first events of a new
    subscription may arrive before checkout.session.completed)."""
    lookups = [
        ("stripe_subscription_id", event.subscription_id),
        ("stripe_customer_id", event.customer_id),
    ]
    for field, value in lookups:
        if value:
            found = (
                Subscription.all_organisations.filter(**{field: value})
                .select_related("organisation")
                .first()
            )
            if found is not None:
                return found.organisation
    try:
        organisation_id = uuid.UUID(event.organisation_id)
    except ValueError:
        return None
    return Organisation.objects.filter(pk=organisation_id).first()


# ---------------------------------------------------------------------------------------------
# Handlers: each runs inside the organisation's tenant transaction.


def sync_subscription(organisation: Organisation, subscription_id: str) -> Subscription:
    """Bring the organisation's row to Stripe's current state of `subscription_id`."""
    subscription = Subscription.materialise(organisation)
    latest = stripe_api.retrieve_subscription(subscription_id)
    replacing = subscription.stripe_subscription_id not in ("", latest.id)
    if (
        replacing
        and latest.status in Subscription.ENDED
        and subscription.status not in (Subscription.ENDED)
    ):
        # A late event about an earlier, finished subscription: the current one wins.
        return subscription
    now = timezone.now()
    plan = Plan.for_stripe_prices(latest.price_ids)
    if plan is None:
        logger.warning("No plan has any of the prices %s of %s", latest.price_ids, latest.id)
    subscription.plan = plan or subscription.plan
    subscription.stripe_subscription_id = latest.id
    subscription.stripe_customer_id = latest.customer_id or subscription.stripe_customer_id
    subscription.current_period_start = latest.current_period_start
    subscription.current_period_end = latest.current_period_end
    subscription.cancel_at_period_end = latest.cancel_at_period_end
    subscription.trial_end = latest.trial_end
    subscription.canceled_at = latest.canceled_at
    subscription.record_status(latest.status, now)
    subscription.stripe_synced_at = now
    subscription.save()
    return subscription


def on_checkout_completed(event: stripe_api.Event, organisation: Organisation) -> None:
    checkout = event.checkout()
    if checkout.mode != "subscription" or not checkout.subscription_id:
        return
    sync_subscription(organisation, checkout.subscription_id)


def on_subscription_changed(event: stripe_api.Event, organisation: Organisation) -> None:
    sync_subscription(organisation, event.subscription_id)


def on_invoice(event: stripe_api.Event, organisation: Organisation) -> None:
    invoice = event.invoice()
    Invoice.record(invoice)
    if event.type == "invoice.finalized" or not invoice.subscription_id:
        return
    subscription = sync_subscription(organisation, invoice.subscription_id)
    if event.type == "invoice.payment_failed" and subscription.grace_ends:
        notify_owners(
            organisation,
            title=_("Payment failed"),
            body=PAYMENT_FAILED_NOTICE % {"date": date_format(subscription.grace_ends, DATE)},
            level=Notification.Level.ERROR,
        )


HANDLERS: dict[str, Callable[[stripe_api.Event, Organisation], None]] = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "invoice.paid": on_invoice,
    "invoice.payment_failed": on_invoice,
    "invoice.finalized": on_invoice,
}
