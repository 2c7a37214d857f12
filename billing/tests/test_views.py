"""The billing page (owners only), Checkout, the portal, the minutes cap, banners and the
read-only dashboard."""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Subscription
from billing.tests import stripe_objects as so
from billing.tests.factories import InvoiceFactory, PlanFactory, SubscriptionFactory
from billing.tests.factories import UsageRecordFactory as Usage
from organisations.models import AuditEvent, Organisation
from organisations.tenancy import tenant

pytestmark = pytest.mark.django_db
BILLING = reverse("billing:overview")
CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_1"


@pytest.mark.parametrize("name", ["billing:overview"])
def test_only_owners_see_billing(name, client_for, owner, admin_user, staff, viewer):
    assert client_for(owner).get(reverse(name)).status_code == 200
    for user in (admin_user, staff, viewer):
        assert client_for(user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["billing:checkout", "billing:portal", "billing:minutes_cap"])
def test_only_owners_can_act(name, client_for, admin_user, subscription):
    assert client_for(admin_user).post(reverse(name)).status_code == 403


def test_billing_is_in_the_owners_menu_only(client_for, owner, admin_user):
    assert BILLING.encode() in client_for(owner).get(reverse("organisations:home")).content
    assert BILLING.encode() not in client_for(admin_user).get(reverse("organisations:home")).content


def test_page_shows_plan_usage_limits_and_invoices(client_for, owner, org, subscription):
    Usage(
        organisation=org, minutes=7, ended_at=subscription.current_period_start + timedelta(hours=1)
    )
    Usage(
        organisation=org,
        minutes=100,
        ended_at=subscription.current_period_start - timedelta(days=1),
    )
    InvoiceFactory(organisation=org, number="FD-0001", amount_due=12345)
    page = client_for(owner).get(BILLING).content.decode()
    assert "Growth" in page
    assert "<strong>7</strong> / 500" in page  # only this period's minutes
    assert "FD-0001" in page
    assert "123.45 USD" in page
    assert "Manage billing" in page
    assert "Choose a plan" not in page  # already subscribed: changes go through the portal


def test_page_queries_do_not_grow_with_invoices(
    client_for, owner, org, subscription, django_assert_max_num_queries
):
    client = client_for(owner)
    client.get(BILLING)
    InvoiceFactory.create_batch(5, organisation=org)
    Usage.create_batch(5, organisation=org)
    with django_assert_max_num_queries(30) as captured:
        client.get(BILLING)
    few = len(captured)
    InvoiceFactory.create_batch(20, organisation=org)
    Usage.create_batch(20, organisation=org)
    with django_assert_max_num_queries(few):
        client.get(BILLING)


def test_without_stripe_the_page_explains_and_the_trial_works(client_for, owner, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(code="starter", name="Starter")
    page = client_for(owner).get(BILLING).content.decode()
    assert "Stripe is not connected" in page
    assert "STRIPE_SECRET_KEY" in page
    assert "Free trial" in page
    assert "disabled" in page  # the plan is shown, but cannot be bought


def test_checkout_opens_stripe_for_the_chosen_plan(client_for, owner, org, stripe_http):
    plan = PlanFactory(code="starter", stripe_price_id="price_starter", trial_days=14)
    stripe_http.post(
        f"{so.API}/v1/checkout/sessions",
        json={
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": "subscription",
            "url": CHECKOUT_URL,
        },
    )
    response = client_for(owner).post(reverse("billing:checkout"), {"plan": plan.pk})
    assert response.status_code == 302
    assert response["Location"] == CHECKOUT_URL
    sent = {k: v[0] for k, v in parse_qs(stripe_http.calls[0].request.body).items()}
    assert sent["client_reference_id"] == str(org.pk)
    assert sent["line_items[0][price]"] == "price_starter"
    assert sent["customer_email"] == owner.email
    assert sent["subscription_data[trial_period_days]"] == "14"
    assert sent["success_url"] == "https://frontdesk.test/settings/billing/?checkout=success"
    with tenant(org):
        assert AuditEvent.objects.filter(action="billing.checkout_started").exists()


def test_checkout_is_refused_when_already_subscribed(client_for, owner, subscription, stripe_http):
    response = client_for(owner).post(
        reverse("billing:checkout"), {"plan": subscription.plan.pk}, follow=True
    )
    assert "already have a subscription" in response.content.decode()
    assert not stripe_http.calls


def test_checkout_of_a_plan_not_for_sale_is_refused(client_for, owner, stripe_http):
    hidden = PlanFactory(is_public=False)
    response = client_for(owner).post(reverse("billing:checkout"), {"plan": hidden.pk}, follow=True)
    assert "Choose one of the plans" in response.content.decode()
    assert not stripe_http.calls


def test_checkout_failure_is_explained(client_for, owner, stripe_http):
    plan = PlanFactory()
    stripe_http.post(
        f"{so.API}/v1/checkout/sessions", status=400, json=so.error("No such price: 'price_x'")
    )
    response = client_for(owner).post(reverse("billing:checkout"), {"plan": plan.pk}, follow=True)
    assert "No such price" in response.content.decode()


def test_returning_from_checkout_says_what_happens_next(client_for, owner):
    page = client_for(owner).get(BILLING + "?checkout=success").content.decode()
    assert "as soon as Stripe confirms it" in page


def test_portal_opens_for_the_customer(client_for, owner, subscription, stripe_http):
    stripe_http.post(
        f"{so.API}/v1/billing_portal/sessions",
        json={
            "id": "bps_1",
            "object": "billing_portal.session",
            "customer": "cus_1",
            "url": "https://billing.stripe.com/p/session/test_1",
        },
    )
    response = client_for(owner).post(reverse("billing:portal"))
    assert response["Location"] == "https://billing.stripe.com/p/session/test_1"
    assert parse_qs(stripe_http.calls[0].request.body)["customer"] == ["cus_1"]


def test_portal_needs_a_customer(client_for, owner, stripe_http):
    response = client_for(owner).post(reverse("billing:portal"), follow=True)
    assert "Subscribe to a plan first" in response.content.decode()


def test_owner_sets_and_clears_a_minutes_cap(client_for, owner, org):
    client = client_for(owner)
    client.post(reverse("billing:minutes_cap"), {"minutes_hard_cap": "250"})
    with tenant(org):
        assert Subscription.objects.get().minutes_hard_cap == 250  # the trial's row was created
        assert AuditEvent.objects.filter(action="billing.minutes_cap_changed").exists()
    client.post(reverse("billing:minutes_cap"), {"minutes_hard_cap": ""})
    with tenant(org):
        assert Subscription.objects.get().minutes_hard_cap is None


def test_bad_minutes_cap_is_refused(client_for, owner, subscription):
    response = client_for(owner).post(
        reverse("billing:minutes_cap"), {"minutes_hard_cap": "-3"}, follow=True
    )
    assert "whole number" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.minutes_hard_cap is None


# ---------------------------------------------------------------------------------------------
# Banners


def test_past_due_banner_for_everyone_with_the_action_for_owners(client_for, owner, staff, org):
    SubscriptionFactory(organisation=org, status="past_due", past_due_since=timezone.now())
    owner_page = client_for(owner).get(reverse("organisations:home")).content.decode()
    staff_page = client_for(staff).get(reverse("organisations:home")).content.decode()
    for page in (owner_page, staff_page):
        assert "We could not take your last payment" in page
    assert "Go to Billing" in owner_page
    assert "Go to Billing" not in staff_page


def test_trial_banner(client_for, owner):
    assert "Your free trial runs until" in client_for(owner).get(BILLING).content.decode()


def test_no_banner_when_all_is_well(client_for, owner, subscription):
    assert (
        'class="messages"'
        not in client_for(owner).get(reverse("organisations:home")).content.decode()
    )


# ---------------------------------------------------------------------------------------------
# Read-only dashboard


@pytest.fixture
def suspended(org):
    return SubscriptionFactory(organisation=org, status="unpaid")


def test_a_suspended_dashboard_stays_readable(client_for, staff, suspended):
    for name in ("organisations:home", "organisations:customers", "organisations:team"):
        assert client_for(staff).get(reverse(name)).status_code == 200


def test_writes_are_refused_and_owners_sent_to_billing(client_for, owner, org, suspended):
    response = client_for(owner).post(
        reverse("organisations:settings"),
        {
            "name": "Renamed",
            "industry": "dental",
            "country": "GB",
            "default_language": "en",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == BILLING
    org.refresh_from_db()
    assert org.name == "Bright Smile Dental"


def test_other_members_are_sent_home(client_for, staff, suspended):
    response = client_for(staff).post(
        reverse("organisations:customer_create"), {"phone": "+15550100"}
    )
    assert response["Location"] == reverse("organisations:home")


def test_paying_and_leaving_stay_possible(client_for, owner, suspended, stripe_http):
    client = client_for(owner)
    client.post(reverse("billing:minutes_cap"), {"minutes_hard_cap": "10"})
    suspended.refresh_from_db()
    assert suspended.minutes_hard_cap == 10
    assert client.post(reverse("logout")).status_code == 302


def test_read_only_only_for_its_own_organisation(client_for, outsider, other_org, suspended):
    response = client_for(outsider).post(
        reverse("organisations:settings"),
        {
            "name": "Pacific Physio 2",
            "industry": "dental",
            "country": "US",
            "default_language": "en",
        },
    )
    assert response.status_code == 302
    assert Organisation.objects.get(pk=other_org.pk).name == "Pacific Physio 2"


def test_api_writes_of_a_read_only_organisation_get_a_json_403(org, suspended):
    from django.test import Client

    from organisations.models import ApiKey, Customer
    from organisations.tenancy import tenant_transaction

    with tenant_transaction(org):
        key = ApiKey(name="sync", role="staff")
        raw = key.issue()
        key.save()
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/customers/", **headers).status_code == 200
    response = client.post(
        "/api/v1/customers/", {"phone": "+14155550100"}, content_type="application/json", **headers
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not Customer.all_organisations.filter(organisation=org).exists()
