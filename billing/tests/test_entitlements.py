"""billing/entitlements.py: access states, the phone path's answer, and plan limits."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from billing import entitlements
from billing.entitlements import ANSWER, FORWARD, call_handling, is_read_only
from billing.models import Access, Subscription, access_cache_key
from billing.tests.factories import PlanFactory, SubscriptionFactory
from billing.usage import record_call_usage
from organisations import limits
from organisations.models import Invitation, Location, Organisation
from organisations.tenancy import platform_transaction, tenant, tenant_transaction
from organisations.tests.factories import InvitationFactory, LocationFactory, MembershipFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _subscribe(org, **fields):
    return SubscriptionFactory(organisation=org, **fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "active"}, Access.FULL),
        ({"status": "trialing", "trial_end_in": 3 * DAY}, Access.FULL),
        # A Stripe trial ends when Stripe says so (active, or paused without a card).
        ({"status": "trialing", "trial_end_in": -DAY}, Access.FULL),
        ({"status": "trialing", "trial_end_in": -DAY, "local": True}, Access.READ_ONLY),
        ({"status": "trialing", "trial_end_in": DAY, "local": True}, Access.FULL),
        ({"status": "paused"}, Access.READ_ONLY),
        ({"status": "past_due", "past_due_for": 2 * DAY}, Access.GRACE),
        ({"status": "past_due", "past_due_for": 8 * DAY}, Access.SUSPENDED),
        ({"status": "incomplete"}, Access.GRACE),
        ({"status": "unpaid", "past_due_for": 30 * DAY}, Access.SUSPENDED),
        ({"status": "canceled"}, Access.SUSPENDED),
        ({"status": "incomplete_expired"}, Access.SUSPENDED),
    ],
)
def test_access_follows_the_subscription(org, fields, expected, settings):
    settings.BILLING_GRACE_DAYS = 7
    now = timezone.now()
    subscription = Subscription(
        organisation=org,
        status=fields["status"],
        stripe_subscription_id="" if fields.get("local") else "sub_1",
        trial_end=now + fields["trial_end_in"] if "trial_end_in" in fields else None,
        past_due_since=now - fields["past_due_for"] if "past_due_for" in fields else None,
    )
    assert subscription.access_at(now)[0] == expected


def test_grace_lasts_the_configured_days(org, settings):
    settings.BILLING_GRACE_DAYS = 3
    now = timezone.now()
    subscription = Subscription(organisation=org, status="past_due", past_due_since=now - 2 * DAY)
    access, until = subscription.access_at(now)
    assert access == Access.GRACE
    assert until == now + DAY


# ---------------------------------------------------------------------------------------------
# The phone path


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "active"}, ANSWER),
        ({"status": "past_due", "past_due_since": timezone.now() - DAY}, ANSWER),
        ({"status": "past_due", "past_due_since": timezone.now() - 30 * DAY}, FORWARD),
        ({"status": "unpaid"}, FORWARD),
        ({"status": "canceled"}, FORWARD),
        ({"status": "paused"}, FORWARD),
    ],
)
def test_suspended_organisations_calls_are_forwarded_not_dropped(org, fields, expected):
    _subscribe(org, **fields)
    with tenant(org):
        assert call_handling(org) == expected


def test_new_organisation_without_a_subscription_answers_during_its_trial(org):
    with tenant(org):
        assert call_handling(org) == ANSWER
        assert not is_read_only(org)


def test_implicit_trial_ends_read_only_with_calls_forwarded(org, settings):
    settings.BILLING_TRIAL_DAYS = 14
    Organisation.objects.filter(pk=org.pk).update(created_at=timezone.now() - 15 * DAY)
    org.refresh_from_db()
    with tenant(org):
        assert call_handling(org) == FORWARD
        assert is_read_only(org)


def test_organisation_suspended_by_the_platform_is_forwarded(org):
    org.status = Organisation.Status.SUSPENDED
    assert call_handling(org) == FORWARD


def test_one_query_then_none(org, django_assert_num_queries):
    _subscribe(org, status="active")
    with tenant_transaction(org):
        with django_assert_num_queries(1):
            assert call_handling(org) == ANSWER
        with django_assert_num_queries(0):
            assert call_handling(org) == ANSWER
            assert not is_read_only(org)


def test_asked_from_outside_the_tenant_it_still_sees_the_subscription(org, other_org):
    """Row-level security would hide the row from another scope; the answer must not flip."""
    _subscribe(org, status="canceled")
    with platform_transaction():
        assert call_handling(org) == FORWARD
    cache.delete(access_cache_key(org.pk))  # as if expired
    with tenant_transaction(other_org):
        assert call_handling(org) == FORWARD


def test_a_subscription_change_takes_effect_at_once(org):
    subscription = _subscribe(org, status="active")
    with tenant(org):
        assert call_handling(org) == ANSWER  # cached now
        subscription.status = Subscription.Status.UNPAID
        subscription.save()
        assert call_handling(org) == FORWARD


def test_the_cache_carries_the_organisation_id(org, other_org):
    _subscribe(org, status="canceled")
    with tenant(org):
        assert call_handling(org) == FORWARD
    with tenant(other_org):
        assert call_handling(other_org) == ANSWER


def test_minutes_cap_forwards_once_reached(org, django_capture_on_commit_callbacks):
    _subscribe(org, status="active", stripe_customer_id="", minutes_hard_cap=5)
    with tenant_transaction(org):
        assert call_handling(org) == ANSWER
        with django_capture_on_commit_callbacks(execute=True):
            record_call_usage(call_id="long-call", seconds=290, ended_at=timezone.now())
        # No query needed: the cached state counted the call.
        assert call_handling(org) == FORWARD
    cache.delete(access_cache_key(org.pk))  # as if expired
    with tenant(org):
        assert call_handling(org) == FORWARD  # and so do our records


def test_minutes_before_the_period_do_not_count_towards_the_cap(org):
    subscription = _subscribe(org, status="active", minutes_hard_cap=5)
    with tenant_transaction(org):
        record_call_usage(
            call_id="old", seconds=3600, ended_at=subscription.current_period_start - DAY
        )
        cache.delete(access_cache_key(org.pk))  # as if expired
        assert call_handling(org) == ANSWER


# ---------------------------------------------------------------------------------------------
# Plan limits


@pytest.fixture
def small_plan(org):
    plan = PlanFactory(code="small", name="Small", seats=2, locations=1, phone_numbers=1)
    _subscribe(org, plan=plan)
    return plan


def test_member_limit_counts_pending_invitations(org, owner, small_plan):
    with tenant(org):
        assert entitlements.refusal_for_new_member(org) is None
        InvitationFactory(organisation=org)
        message = entitlements.refusal_for_new_member(org)
    assert "Small plan includes 2 team members" in message


def test_location_limit(org, small_plan):
    with tenant(org):
        message = entitlements.refusal_for_new_location(org)
    assert "1 location and" in message


def test_phone_number_limit(org, small_plan, monkeypatch):
    monkeypatch.setitem(entitlements.COUNTERS, "phone_number", lambda organisation: 0)
    with tenant(org):
        assert entitlements.refusal_for_new_phone_number(org) is None
    monkeypatch.setitem(entitlements.COUNTERS, "phone_number", lambda organisation: 1)
    with tenant(org):
        assert "1 phone number and" in entitlements.refusal_for_new_phone_number(org)


def test_unlimited_plan_refuses_nothing(org, owner):
    _subscribe(org, plan=PlanFactory(seats=None, locations=None, phone_numbers=None))
    for _ in range(3):
        LocationFactory(organisation=org)
        MembershipFactory(organisation=org)
    with tenant(org):
        for resource in ("member", "location", "phone_number"):
            assert entitlements.refusal(resource, org) is None


def test_without_a_subscription_the_default_plan_applies(org, settings):
    settings.BILLING_DEFAULT_PLAN = "trial"
    with tenant(org):
        assert "Free trial plan includes 1 location and" in entitlements.refusal_for_new_location(
            org
        )
    PlanFactory(code="trial", name="Starter trial", locations=3)
    with tenant(org):
        assert entitlements.refusal_for_new_location(org) is None


def test_checks_are_registered_with_the_organisations_limits(org, small_plan):
    with tenant(org):
        assert limits.refusal("location", org) == entitlements.refusal_for_new_location(org)
        assert limits.refusal("member", org) is None
        assert limits.refusal("phone_number", org) is None


def test_inviting_beyond_the_plan_is_refused_with_the_reason(
    org, owner, admin_user, small_plan, client_for
):
    response = client_for(owner).post(
        reverse("organisations:invite"), {"email": "new@a.example", "role": "staff"}, follow=True
    )
    assert "Small plan includes 2 team members" in response.content.decode()
    with tenant(org):
        assert not Invitation.objects.exists()


def test_adding_a_location_beyond_the_plan_is_refused_with_the_reason(
    org, owner, small_plan, client_for
):
    response = client_for(owner).post(
        reverse("organisations:location_create"),
        {"name": "Islington", "timezone": "Europe/London"},
        follow=True,
    )
    assert "Small plan includes 1 location and" in response.content.decode()
    with tenant(org):
        assert Location.objects.count() == 1


def test_features_come_from_the_plan(org):
    _subscribe(org, plan=PlanFactory(feature_calcom=True, feature_outbound_calls=False))
    assert entitlements.has_feature(org, "calcom")
    assert not entitlements.has_feature(org, "outbound_calls")
