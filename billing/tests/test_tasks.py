"""The periodic enforcement: grace periods and trials that end by the clock."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.entitlements import FORWARD, call_handling
from billing.models import Subscription
from billing.tasks import enforce_billing_access
from billing.tests.factories import SubscriptionFactory
from organisations.models import Notification, Organisation
from organisations.tenancy import tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def enforce():
        with django_capture_on_commit_callbacks(execute=True):
            return enforce_billing_access()

    return enforce


def _notes(org):
    with tenant(org):
        return list(Notification.objects.values_list("title", "recipient__email"))


def test_past_due_beyond_grace_is_suspended_and_owners_told_once(
    run, org, owner, staff, mailoutbox, settings
):
    settings.BILLING_GRACE_DAYS = 7
    subscription = SubscriptionFactory(
        organisation=org, status="past_due", past_due_since=timezone.now() - timedelta(days=8)
    )
    run()
    subscription.refresh_from_db()
    assert subscription.restricted_at is not None
    assert _notes(org) == [("Service suspended", owner.email)]
    assert [m.to for m in mailoutbox] == [[owner.email]]
    with tenant(org):
        assert call_handling(org) == FORWARD

    run()  # told once only
    assert len(_notes(org)) == 1
    assert len(mailoutbox) == 1


def test_past_due_within_grace_is_left_alone(run, org, owner):
    subscription = SubscriptionFactory(
        organisation=org, status="past_due", past_due_since=timezone.now() - timedelta(days=1)
    )
    run()
    subscription.refresh_from_db()
    assert subscription.restricted_at is None
    assert _notes(org) == []


def test_local_trial_that_ended_is_paused(run, org, owner):
    subscription = SubscriptionFactory(
        organisation=org,
        status="trialing",
        stripe_subscription_id="",
        stripe_customer_id="",
        trial_end=timezone.now() - timedelta(hours=1),
    )
    run()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED
    assert _notes(org) == [("Your free trial has ended", owner.email)]


def test_implicit_trial_that_ended_gets_its_row(run, org, owner, other_org, settings):
    settings.BILLING_TRIAL_DAYS = 14
    Organisation.objects.filter(pk=org.pk).update(created_at=timezone.now() - timedelta(days=15))
    run()
    subscription = Subscription.all_organisations.get(organisation=org)
    assert subscription.status == Subscription.Status.PAUSED
    assert subscription.plan.code == settings.BILLING_DEFAULT_PLAN
    assert not Subscription.all_organisations.filter(organisation=other_org).exists()


def test_active_subscriptions_are_not_even_looked_at(run, org):
    SubscriptionFactory(organisation=org, status="active")
    assert run() == 0


def test_recovery_clears_the_restriction(org):
    subscription = SubscriptionFactory(
        organisation=org,
        status="unpaid",
        restricted_at=timezone.now(),
        past_due_since=timezone.now() - timedelta(days=20),
    )
    with tenant(org):
        subscription.record_status(Subscription.Status.ACTIVE, timezone.now())
    assert subscription.restricted_at is None
    assert subscription.past_due_since is None
