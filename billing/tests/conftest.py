import pytest
import responses
from django.core.cache import cache
from django.urls import reverse

from billing.tests import stripe_objects as so
from billing.tests.factories import PlanFactory, SubscriptionFactory


@pytest.fixture(autouse=True)
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_frontdesk"
    settings.STRIPE_WEBHOOK_SECRET = so.WEBHOOK_SECRET
    settings.STRIPE_METER_EVENT_NAME = "frontdesk_call_minutes"
    return settings


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def stripe_http():
    """Stripe's HTTP API, mocked at the transport: an unregistered request fails the way a
    network error would, so no test ever reaches the network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def plan(db):
    return PlanFactory(code="growth", name="Growth", stripe_price_id="price_base")


@pytest.fixture
def subscription(org, plan):
    return SubscriptionFactory(
        organisation=org, plan=plan, stripe_customer_id="cus_1", stripe_subscription_id="sub_1"
    )


@pytest.fixture
def post_event(client):
    """Deliver an event to the webhook as Stripe does (raw JSON, signed header)."""

    def deliver(data, *, secret=so.WEBHOOK_SECRET, timestamp=None, payload=None):
        body = payload if payload is not None else so.dumps(data)
        header = so.signature_header(body, secret=secret, timestamp=timestamp)
        return client.post(
            reverse("billing:stripe_webhook"),
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )

    return deliver
