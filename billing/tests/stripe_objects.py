"""Stripe objects and webhook deliveries in the shapes Stripe documents (API 2025-03-31 and
later: billing periods on subscription items, invoices naming their subscription under `parent`),
and the `Stripe-Signature` header computed as Stripe does, independently of the SDK."""

import hashlib
import hmac
import json
import time
from itertools import count

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
API = "https://api.stripe.com"
_ids = count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_Test{next(_ids):010d}"


def price(price_id: str, *, metered: bool = False) -> dict:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit" if not metered else "tiered",
        "currency": "usd",
        "livemode": False,
        "product": "prod_Frontdesk",
        "recurring": {
            "interval": "month",
            "interval_count": 1,
            "meter": "mtr_CallMinutes" if metered else None,
            "usage_type": "metered" if metered else "licensed",
        },
        "type": "recurring",
        "unit_amount": None if metered else 9900,
    }


def subscription(
    *,
    subscription_id: str = "sub_1",
    customer: str = "cus_1",
    status: str = "active",
    prices: tuple[str, ...] = ("price_base",),
    period_start: int = 1_790_000_000,
    period_end: int = 1_792_592_000,
    organisation_id: str = "",
    cancel_at_period_end: bool = False,
    trial_end: int | None = None,
    canceled_at: int | None = None,
) -> dict:
    items = [
        {
            "id": _id("si"),
            "object": "subscription_item",
            "created": period_start,
            "current_period_start": period_start,
            "current_period_end": period_end,
            "metadata": {},
            "price": price(price_id, metered=index > 0),
            "quantity": 1 if index == 0 else None,
            "subscription": subscription_id,
            "tax_rates": [],
        }
        for index, price_id in enumerate(prices)
    ]
    return {
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": period_start,
        "cancel_at": period_end if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": period_start,
        "currency": "usd",
        "customer": customer,
        "default_payment_method": None,
        "discounts": [],
        "ended_at": canceled_at,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "latest_invoice": "in_latest",
        "livemode": False,
        "metadata": {"organisation_id": organisation_id} if organisation_id else {},
        "pending_setup_intent": None,
        "status": status,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        "trial_start": None,
    }


def invoice(
    *,
    invoice_id: str = "in_1",
    customer: str = "cus_1",
    subscription_id: str = "sub_1",
    status: str = "paid",
    amount: int = 9900,
    created: int = 1_790_000_100,
    organisation_id: str = "",
) -> dict:
    paid = status == "paid"
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "attempt_count": 1,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_Test/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_Test/test_{invoice_id}/pdf?s=ap",
        "livemode": False,
        "number": f"FD-{invoice_id[-4:].upper()}",
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": {"organisation_id": organisation_id} if organisation_id else {},
                "subscription": subscription_id,
            },
        },
        "period_start": created - 2_592_000,
        "period_end": created,
        "status": status,
        "status_transitions": {
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": created + 60 if paid else None,
            "voided_at": None,
        },
        "total": amount,
    }


def checkout_session(
    *,
    organisation_id: str,
    customer: str = "cus_1",
    subscription_id: str = "sub_1",
    mode: str = "subscription",
) -> dict:
    return {
        "id": _id("cs_test"),
        "object": "checkout.session",
        "client_reference_id": organisation_id,
        "created": 1_790_000_000,
        "customer": customer,
        "customer_details": {"email": "owner@a.example", "name": None},
        "expires_at": 1_790_086_400,
        "livemode": False,
        "metadata": {"organisation_id": organisation_id},
        "mode": mode,
        "payment_status": "paid",
        "status": "complete",
        "subscription": subscription_id if mode == "subscription" else None,
        "url": None,
    }


def event(event_type: str, obj: dict, *, event_id: str | None = None, created=None) -> dict:
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signature_header(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp=None) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" with the endpoint secret>`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def error(message: str, *, error_type: str = "invalid_request_error", code=None) -> dict:
    return {
        "error": {
            "code": code,
            "doc_url": f"https://stripe.com/docs/error-codes/{code}" if code else None,
            "message": message,
            "param": None,
            "request_log_url": "https://dashboard.stripe.com/test/logs/req_Test",
            "type": error_type,
        }
    }


def meter_event(identifier: str, customer: str, value: int, timestamp: int) -> dict:
    return {
        "object": "billing.meter_event",
        "created": timestamp,
        "event_name": "frontdesk_call_minutes",
        "identifier": identifier,
        "livemode": False,
        "payload": {"stripe_customer_id": customer, "value": str(value)},
        "timestamp": timestamp,
    }


def dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))


def serve_subscription(mock, obj: dict, *, status: int = 200):
    """Stripe answers GET /v1/subscriptions/<id> with `obj` (mock: a responses.RequestsMock)."""
    return mock.get(f"{API}/v1/subscriptions/{obj['id']}", json=obj, status=status)
