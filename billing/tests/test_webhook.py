"""POST /webhooks/stripe/: signatures, storage before processing, idempotency and ordering."""

import time

import pytest
import responses

from billing.models import Invoice, StripeEvent, Subscription
from billing.tests import stripe_objects as so
from billing.tests.factories import PlanFactory
from organisations.models import Notification
from organisations.tenancy import tenant

pytestmark = pytest.mark.django_db


def _subscription_of(org) -> Subscription:
    return Subscription.all_organisations.get(organisation=org)


# ---------------------------------------------------------------------------------------------
# Authentication


def test_forged_signature_is_403_and_writes_nothing(post_event, subscription):
    response = post_event(
        so.event("customer.subscription.updated", so.subscription()),
        secret="whsec_not_the_endpoint_secret",
    )
    assert response.status_code == 403
    assert not StripeEvent.objects.exists()


def test_tampered_body_is_403(client, subscription):
    body = so.dumps(so.event("customer.subscription.updated", so.subscription()))
    header = so.signature_header(body)
    response = client.post(
        "/webhooks/stripe/",
        data=body.replace('"active"', '"canceled"'),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 403
    assert not StripeEvent.objects.exists()


def test_missing_signature_is_403(client):
    response = client.post(
        "/webhooks/stripe/", data=so.dumps(so.event("x.y", {})), content_type="application/json"
    )
    assert response.status_code == 403
    assert not StripeEvent.objects.exists()


def test_stale_delivery_outside_tolerance_is_403(post_event, subscription):
    six_minutes_ago = int(time.time()) - 360
    response = post_event(
        so.event("customer.subscription.updated", so.subscription()), timestamp=six_minutes_ago
    )
    assert response.status_code == 403
    assert not StripeEvent.objects.exists()


def test_recent_delivery_inside_tolerance_is_accepted(post_event, stripe_http, subscription):
    so.serve_subscription(stripe_http, so.subscription())
    four_minutes_ago = int(time.time()) - 240
    response = post_event(
        so.event("customer.subscription.updated", so.subscription()), timestamp=four_minutes_ago
    )
    assert response.status_code == 200


def test_without_a_webhook_secret_every_delivery_is_refused(post_event, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = post_event(so.event("customer.subscription.updated", so.subscription()))
    assert response.status_code == 403


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/stripe/").status_code == 405


# ---------------------------------------------------------------------------------------------
# Malformed and unknown


@pytest.mark.parametrize(
    "payload",
    [
        "this is not json",
        "[]",
        '{"object": "event"}',
        '{"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {"object": "in_1"}}',
    ],
)
def test_signed_but_malformed_body_is_400(post_event, payload):
    response = post_event(None, payload=payload)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_unknown_event_type_is_stored_and_acknowledged(post_event):
    data = so.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    response = post_event(data)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.event_id == data["id"]
    assert stored.processed_at is not None
    assert stored.error == ""


# ---------------------------------------------------------------------------------------------
# Storage and idempotency


def test_delivery_is_stored_raw_before_processing(post_event, stripe_http, subscription):
    data = so.event("customer.subscription.updated", so.subscription())
    so.serve_subscription(stripe_http, so.subscription())
    post_event(data)
    stored = StripeEvent.objects.get(event_id=data["id"])
    assert stored.type == "customer.subscription.updated"
    assert stored.body == so.dumps(data)
    assert stored.headers["Stripe-Signature"].startswith("t=")
    assert stored.organisation == subscription.organisation
    assert stored.attempts == 1
    assert stored.processed_at is not None


def test_replayed_event_is_applied_once(post_event, stripe_http, subscription):
    retrieve = so.serve_subscription(stripe_http, so.subscription())
    data = so.event("customer.subscription.updated", so.subscription())
    first, second = post_event(data), post_event(data)
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert retrieve.call_count == 1
    assert StripeEvent.objects.get().attempts == 1


def test_transient_stripe_failure_is_503_then_redelivery_succeeds(
    post_event, stripe_http, subscription
):
    data = so.event("customer.subscription.updated", so.subscription(status="past_due"))
    stripe_http.get(
        f"{so.API}/v1/subscriptions/sub_1",
        status=500,
        json=so.error("Something went wrong", error_type="api_error"),
    )
    response = post_event(data)
    assert response.status_code == 503
    stored = StripeEvent.objects.get()
    assert stored.processed_at is None
    assert "went wrong" in stored.error

    stripe_http.replace(
        responses.GET, f"{so.API}/v1/subscriptions/sub_1", json=so.subscription(status="past_due")
    )
    assert post_event(data).status_code == 200
    stored.refresh_from_db()
    assert stored.processed_at is not None
    assert stored.attempts == 2
    assert stored.error == ""
    assert _subscription_of(subscription.organisation).status == "past_due"


def test_event_for_no_known_organisation_is_kept_with_the_reason(post_event, stripe_http):
    data = so.event(
        "customer.subscription.updated",
        so.subscription(customer="cus_unknown", subscription_id="sub_x"),
    )
    response = post_event(data)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.organisation is None
    assert "cus_unknown" in stored.error
    assert not stripe_http.calls


# ---------------------------------------------------------------------------------------------
# Applying events


def test_checkout_completed_links_the_organisation_and_syncs(post_event, stripe_http, org, plan):
    so.serve_subscription(
        stripe_http,
        so.subscription(
            subscription_id="sub_new",
            customer="cus_new",
            organisation_id=str(org.pk),
            prices=("price_base", "price_minutes"),
        ),
    )
    response = post_event(
        so.event(
            "checkout.session.completed",
            so.checkout_session(
                organisation_id=str(org.pk), customer="cus_new", subscription_id="sub_new"
            ),
        )
    )
    assert response.status_code == 200
    subscription = _subscription_of(org)
    assert subscription.stripe_customer_id == "cus_new"
    assert subscription.stripe_subscription_id == "sub_new"
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.plan == plan
    # Stripe moved the period to the items in API 2025-03-31.
    assert subscription.current_period_start.timestamp() == 1_790_000_000
    assert subscription.current_period_end.timestamp() == 1_792_592_000


def test_subscription_created_before_checkout_completed_finds_the_organisation_by_metadata(
    post_event, stripe_http, org, plan
):
    sub = so.subscription(
        subscription_id="sub_new", customer="cus_new", organisation_id=str(org.pk)
    )
    so.serve_subscription(stripe_http, sub)
    assert post_event(so.event("customer.subscription.created", sub)).status_code == 200
    assert _subscription_of(org).stripe_subscription_id == "sub_new"


def test_payment_mode_checkout_changes_nothing(post_event, org):
    response = post_event(
        so.event(
            "checkout.session.completed",
            so.checkout_session(organisation_id=str(org.pk), mode="payment"),
        )
    )
    assert response.status_code == 200
    assert not Subscription.all_organisations.filter(organisation=org).exists()


def test_out_of_order_updates_converge_on_stripes_latest_state(
    post_event, stripe_http, subscription
):
    """Stripe sends active (newer) before past_due (older); our row ends as Stripe is now."""
    newer = so.event(
        "customer.subscription.updated", so.subscription(status="active"), created=int(time.time())
    )
    older = so.event(
        "customer.subscription.updated",
        so.subscription(status="past_due"),
        created=int(time.time()) - 60,
    )
    so.serve_subscription(stripe_http, so.subscription(status="active"))
    post_event(newer)
    post_event(older)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.past_due_since is None


def test_late_event_about_an_ended_subscription_does_not_replace_the_current_one(
    post_event, stripe_http, subscription
):
    so.serve_subscription(
        stripe_http,
        so.subscription(subscription_id="sub_old", status="canceled", canceled_at=1_780_000_000),
    )
    post_event(
        so.event(
            "customer.subscription.deleted",
            so.subscription(subscription_id="sub_old", status="canceled"),
        )
    )
    subscription.refresh_from_db()
    assert subscription.stripe_subscription_id == "sub_1"
    assert subscription.status == Subscription.Status.ACTIVE


def test_deleted_subscription_suspends(post_event, stripe_http, subscription):
    canceled = so.subscription(status="canceled", canceled_at=1_791_000_000)
    so.serve_subscription(stripe_http, canceled)
    post_event(so.event("customer.subscription.deleted", canceled))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert subscription.canceled_at.timestamp() == 1_791_000_000


def test_plan_follows_the_subscriptions_price(post_event, stripe_http, subscription):
    bigger = PlanFactory(code="group", stripe_price_id="price_group")
    changed = so.subscription(prices=("price_group", "price_group_minutes"))
    so.serve_subscription(stripe_http, changed)
    post_event(so.event("customer.subscription.updated", changed))
    subscription.refresh_from_db()
    assert subscription.plan == bigger


def test_invoice_paid_is_recorded(post_event, stripe_http, subscription):
    so.serve_subscription(stripe_http, so.subscription())
    post_event(so.event("invoice.paid", so.invoice(invoice_id="in_0042", amount=12345)))
    invoice = Invoice.all_organisations.get()
    assert invoice.organisation == subscription.organisation
    assert (invoice.number, invoice.status, invoice.amount_due, invoice.amount_paid) == (
        "FD-0042",
        "paid",
        12345,
        12345,
    )
    assert invoice.hosted_invoice_url.startswith("https://invoice.stripe.com/")
    assert invoice.invoice_pdf_url.endswith("/pdf?s=ap")
    assert invoice.paid_at is not None
    assert invoice.period_start < invoice.period_end


def test_late_invoice_finalized_does_not_undo_paid(post_event, stripe_http, subscription):
    so.serve_subscription(stripe_http, so.subscription())
    post_event(so.event("invoice.paid", so.invoice(status="paid")))
    post_event(so.event("invoice.finalized", so.invoice(status="open")))
    assert Invoice.all_organisations.get().status == Invoice.Status.PAID


def test_payment_failed_starts_grace_and_tells_owners(
    post_event,
    stripe_http,
    subscription,
    owner,
    staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    so.serve_subscription(stripe_http, so.subscription(status="past_due"))
    with django_capture_on_commit_callbacks(execute=True):
        post_event(so.event("invoice.payment_failed", so.invoice(status="open")))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.past_due_since is not None
    with tenant(subscription.organisation):
        notes = list(Notification.objects.all())
    assert [n.recipient for n in notes] == [owner]
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "Payment failed" in mailoutbox[0].subject


def test_payment_recovered_ends_grace(post_event, stripe_http, subscription):
    Subscription.all_organisations.filter(pk=subscription.pk).update(
        status="past_due", past_due_since="2026-10-01T00:00:00Z"
    )
    so.serve_subscription(stripe_http, so.subscription(status="active"))
    post_event(so.event("invoice.paid", so.invoice()))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.past_due_since is None
