"""billing/stripe.py against Stripe's HTTP API, mocked at the transport with `responses`."""

from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
import requests

from billing import stripe as stripe_api
from billing.tests import stripe_objects as so
from organisations.providers import PermanentProviderError, TransientProviderError

ENDED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def _form(call) -> dict[str, str]:
    """The form-encoded body stripe-python sent, flattened: {"line_items[0][price]": ...}."""
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


def _checkout(**overrides):
    params = {
        "organisation_id": "5f0c0c8e-0000-4000-8000-000000000001",
        "price_id": "price_base",
        "metered_price_id": "price_minutes",
        "customer_id": "",
        "customer_email": "owner@a.example",
        "trial_days": 0,
        "success_url": "https://frontdesk.test/settings/billing/?checkout=success",
        "cancel_url": "https://frontdesk.test/settings/billing/?checkout=canceled",
    }
    return stripe_api.create_checkout_session(**{**params, **overrides})


def _serve_checkout(stripe_http):
    return stripe_http.post(
        f"{so.API}/v1/checkout/sessions",
        json={
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": "subscription",
            "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        },
    )


def test_requests_is_the_transport(stripe_http):
    """The SDK goes through `requests`, which is what `responses` intercepts."""
    so.serve_subscription(stripe_http, so.subscription())
    stripe_api.retrieve_subscription("sub_1")
    assert stripe_http.calls[0].request.headers["Authorization"] == "Bearer sk_test_frontdesk"


def test_checkout_session_for_a_new_customer(stripe_http):
    _serve_checkout(stripe_http)
    assert _checkout() == "https://checkout.stripe.com/c/pay/cs_test_1"
    sent = _form(stripe_http.calls[0])
    assert sent["mode"] == "subscription"
    assert sent["line_items[0][price]"] == "price_base"
    assert sent["line_items[0][quantity]"] == "1"
    assert sent["line_items[1][price]"] == "price_minutes"
    assert "line_items[1][quantity]" not in sent  # metered prices take no quantity
    assert sent["client_reference_id"] == "5f0c0c8e-0000-4000-8000-000000000001"
    assert (
        sent["subscription_data[metadata][organisation_id]"]
        == "5f0c0c8e-0000-4000-8000-000000000001"
    )
    assert sent["customer_email"] == "owner@a.example"
    assert "customer" not in sent
    assert "subscription_data[trial_period_days]" not in sent


def test_checkout_session_with_a_trial_needs_no_card(stripe_http):
    _serve_checkout(stripe_http)
    _checkout(customer_id="cus_1", trial_days=14)
    sent = _form(stripe_http.calls[0])
    assert sent["customer"] == "cus_1"
    assert "customer_email" not in sent
    assert sent["subscription_data[trial_period_days]"] == "14"
    assert sent["subscription_data[trial_settings][end_behavior][missing_payment_method]"] == (
        "pause"
    )
    assert sent["payment_method_collection"] == "if_required"


def test_portal_session(stripe_http):
    stripe_http.post(
        f"{so.API}/v1/billing_portal/sessions",
        json={
            "id": "bps_1",
            "object": "billing_portal.session",
            "customer": "cus_1",
            "return_url": "https://frontdesk.test/settings/billing/",
            "url": "https://billing.stripe.com/p/session/test_1",
        },
    )
    url = stripe_api.create_portal_session(
        customer_id="cus_1", return_url="https://frontdesk.test/settings/billing/"
    )
    assert url == "https://billing.stripe.com/p/session/test_1"
    assert _form(stripe_http.calls[0])["customer"] == "cus_1"


def test_meter_event_carries_the_call_id_as_identifier(stripe_http):
    stripe_http.post(
        f"{so.API}/v1/billing/meter_events",
        json=so.meter_event("call-1", "cus_1", 3, int(ENDED.timestamp())),
    )
    stripe_api.report_minutes(customer_id="cus_1", minutes=3, identifier="call-1", timestamp=ENDED)
    sent = _form(stripe_http.calls[0])
    assert sent == {
        "event_name": "frontdesk_call_minutes",
        "identifier": "call-1",
        "timestamp": str(int(ENDED.timestamp())),
        "payload[stripe_customer_id]": "cus_1",
        "payload[value]": "3",
    }


def test_meter_event_already_counted_is_success(stripe_http):
    stripe_http.post(
        f"{so.API}/v1/billing/meter_events",
        status=400,
        json=so.error("An event already exists with identifier call-1."),
    )
    stripe_api.report_minutes(customer_id="cus_1", minutes=3, identifier="call-1", timestamp=ENDED)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            429,
            so.error("Too many requests", error_type="invalid_request_error", code="rate_limit"),
            TransientProviderError,
        ),
        (500, so.error("Internal error", error_type="api_error"), TransientProviderError),
        (503, so.error("Unavailable", error_type="api_error"), TransientProviderError),
        (
            400,
            so.error("No such customer: 'cus_x'", code="resource_missing"),
            PermanentProviderError,
        ),
        (401, so.error("Invalid API Key provided"), PermanentProviderError),
        (404, so.error("No such subscription", code="resource_missing"), PermanentProviderError),
    ],
)
def test_errors_are_split_into_transient_and_permanent(stripe_http, status, body, expected):
    stripe_http.get(f"{so.API}/v1/subscriptions/sub_1", status=status, json=body)
    with pytest.raises(expected) as raised:
        stripe_api.retrieve_subscription("sub_1")
    assert raised.value.status == status
    assert raised.value.provider == "stripe"


def test_network_failure_is_transient(stripe_http):
    stripe_http.get(f"{so.API}/v1/subscriptions/sub_1", body=requests.ConnectionError("reset"))
    with pytest.raises(TransientProviderError):
        stripe_api.retrieve_subscription("sub_1")


def test_without_a_secret_key_nothing_is_sent(stripe_http, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(PermanentProviderError, match="not configured"):
        stripe_api.retrieve_subscription("sub_1")
    assert not stripe_http.calls


def test_subscription_period_comes_from_the_items():
    snapshot = stripe_api.subscription_from(
        so.subscription(prices=("price_base", "price_minutes"), period_start=100, period_end=200)
    )
    assert snapshot.current_period_start == datetime.fromtimestamp(100, tz=UTC)
    assert snapshot.current_period_end == datetime.fromtimestamp(200, tz=UTC)
    assert snapshot.price_ids == ("price_base", "price_minutes")


def test_invoice_names_its_subscription_under_parent():
    snapshot = stripe_api.invoice_from(so.invoice(subscription_id="sub_9", organisation_id="org-1"))
    assert snapshot.subscription_id == "sub_9"
    assert snapshot.organisation_id == "org-1"
