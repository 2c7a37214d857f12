import json

import pytest
from django.urls import reverse

from organisations.models import Customer
from organisations.tests.factories import CustomerFactory
from telephony.models import Call, EmergencyNotification, SmsMessage, TranscriptLine
from telephony.privacy import ERASED
from telephony.tests.factories import (
    CallFactory,
    EmergencyNotificationFactory,
    SmsMessageFactory,
    TranscriptLineFactory,
)

pytestmark = pytest.mark.django_db
PHONE = "+447911123456"


@pytest.fixture
def history(clinic):
    customer = CustomerFactory(organisation=clinic.org, name="Ann Patient", phone=PHONE)
    linked = CallFactory(organisation=clinic.org, customer=customer, summary="Linked-call")
    by_number = CallFactory(organisation=clinic.org, customer_phone=PHONE, summary="Number-call")
    TranscriptLineFactory(organisation=clinic.org, call=linked, text="My tooth hurts")
    SmsMessageFactory(
        organisation=clinic.org, customer=customer, to_number=PHONE, body="Booked!", call=None
    )
    SmsMessageFactory(organisation=clinic.org, customer=None, to_number="+447911123999", call=None)
    alert = EmergencyNotificationFactory(
        organisation=clinic.org, call=linked, message="Ann Patient is bleeding"
    )
    someone_else = CallFactory(organisation=clinic.org, summary="Someone-else")
    return customer, linked, by_number, alert, someone_else


def test_the_customer_page_shows_their_calls_and_texts(client_for, viewer, history, other_clinic):
    customer, *_ = history
    CallFactory(organisation=other_clinic.org, customer_phone=PHONE, summary="Other-clinic-call")
    content = (
        client_for(viewer)
        .get(reverse("organisations:customer", args=[customer.pk]))
        .content.decode()
    )
    assert "Linked-call" in content
    assert "Number-call" in content
    assert "Booked!" in content
    assert "Someone-else" not in content
    assert "Other-clinic-call" not in content


def test_the_export_carries_calls_with_transcripts_and_texts(client_for, admin_user, history):
    customer, *_ = history
    response = client_for(admin_user).get(
        reverse("organisations:customer_export", args=[customer.pk])
    )
    data = json.loads(response.content)
    summaries = {call["summary"] for call in data["calls"]}
    assert summaries == {"Linked-call", "Number-call"}
    transcript = next(c for c in data["calls"] if c["summary"] == "Linked-call")["transcript"]
    assert transcript[0]["text"] == "My tooth hurts"
    assert [text["body"] for text in data["texts"]] == ["Booked!"]


def test_erasure_removes_calls_transcripts_and_texts(client_for, admin_user, history):
    customer, _linked, _by_number, alert, someone_else = history
    client_for(admin_user).post(
        reverse("organisations:customer_erase", args=[customer.pk]), {"confirm": PHONE}
    )
    assert not Customer.all_organisations.filter(pk=customer.pk).exists()
    assert list(Call.all_organisations.values_list("pk", flat=True)) == [someone_else.pk]
    assert not TranscriptLine.all_organisations.exists()
    assert list(SmsMessage.all_organisations.values_list("to_number", flat=True)) == [
        "+447911123999"
    ]
    alert.refresh_from_db()
    assert (alert.message, alert.call) == (ERASED, None)
    assert EmergencyNotification.all_organisations.count() == 1


def test_erasure_also_drops_raw_deliveries_that_quote_the_number(
    client_for, admin_user, history, clinic
):
    from urllib.parse import urlencode

    from telephony.models import WebhookDelivery
    from telephony.tests.factories import WebhookDeliveryFactory

    customer, *_rest = history
    WebhookDeliveryFactory(organisation=clinic.org, body=f'{{"customer": {{"number": "{PHONE}"}}}}')
    WebhookDeliveryFactory(organisation=clinic.org, body=urlencode({"From": PHONE, "Body": "hi"}))
    kept = WebhookDeliveryFactory(organisation=clinic.org, body='{"customer": {"number": "+1"}}')
    client_for(admin_user).post(
        reverse("organisations:customer_erase", args=[customer.pk]), {"confirm": PHONE}
    )
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [kept.pk]


def test_processed_deliveries_are_purged_after_the_retention(settings):
    from datetime import timedelta

    from django.utils import timezone

    from telephony.tasks import purge_old_deliveries
    from telephony.tests.factories import WebhookDeliveryFactory

    old = timezone.now() - timedelta(days=settings.TELEPHONY_WEBHOOK_RETENTION_DAYS + 1)
    WebhookDeliveryFactory(received_at=old, processed_at=old)
    failed = WebhookDeliveryFactory(received_at=old, error="boom")
    fresh = WebhookDeliveryFactory(processed_at=timezone.now())
    assert purge_old_deliveries() == 1
    from telephony.models import WebhookDelivery

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {failed.pk, fresh.pk}
