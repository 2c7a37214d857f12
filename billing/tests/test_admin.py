"""Platform admin: billing rows of every organisation, and replaying stored Stripe events."""

import pytest
from django.urls import reverse

from billing.models import StripeEvent, Subscription, UsageRecord
from billing.tests import stripe_objects as so
from billing.tests.factories import (
    InvoiceFactory,
    PlanFactory,
    StripeEventFactory,
    SubscriptionFactory,
    UsageRecordFactory,
)
from organisations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_admin(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("model", ["plan", "subscription", "invoice", "usagerecord", "stripeevent"])
def test_changelists_list_every_organisation(platform_admin, org, other_org, model):
    SubscriptionFactory(organisation=org)
    SubscriptionFactory(organisation=other_org)
    InvoiceFactory(organisation=org)
    UsageRecordFactory(organisation=other_org)
    StripeEventFactory(organisation=org)
    PlanFactory()
    response = platform_admin.get(reverse(f"admin:billing_{model}_changelist"))
    assert response.status_code == 200


def test_replay_processes_a_stored_event_again(platform_admin, org, stripe_http):
    subscription = SubscriptionFactory(
        organisation=org, stripe_subscription_id="sub_1", status="past_due"
    )
    data = so.event("customer.subscription.updated", so.subscription(status="active"))
    stored = StripeEventFactory(event_id=data["id"], type=data["type"], body=so.dumps(data))
    so.serve_subscription(stripe_http, so.subscription(status="active"))
    response = platform_admin.post(
        reverse("admin:billing_stripeevent_changelist"),
        {"action": "replay", "_selected_action": [stored.pk]},
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.processed_at is not None
    assert stored.organisation == org
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE


def test_failed_usage_can_be_reported_again(
    platform_admin, org, stripe_http, django_capture_on_commit_callbacks
):
    SubscriptionFactory(organisation=org, stripe_customer_id="cus_1")
    usage = UsageRecordFactory(organisation=org, status="failed", attempts=12)
    stripe_http.post(
        f"{so.API}/v1/billing/meter_events",
        json=so.meter_event(usage.call_id, "cus_1", usage.minutes, 1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        platform_admin.post(
            reverse("admin:billing_usagerecord_changelist"),
            {"action": "report_again", "_selected_action": [usage.pk]},
        )
    usage.refresh_from_db()
    assert usage.status == UsageRecord.Status.REPORTED
    assert not StripeEvent.objects.exists()
