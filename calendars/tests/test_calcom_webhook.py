"""POST /webhooks/calcom/: signed with Cal.com's algorithm (hex HMAC-SHA256 of the raw body),
payloads in Cal.com's webhook shape."""

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from calendars.models import Appointment, CalendarConnection, CalendarWebhookDelivery
from calendars.tests.factories import AppointmentFactory, CalendarConnectionFactory
from organisations.models import Customer, Notification
from organisations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec_cal_test_secret"
URL = "/webhooks/calcom/"
START = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.CALCOM_WEBHOOK_SECRET = SECRET


@pytest.fixture
def connection(org, london, service):
    return CalendarConnectionFactory(
        organisation=org,
        location=london,
        provider=CalendarConnection.Provider.CALCOM,
        auth_method=CalendarConnection.AuthMethod.API_KEY,
        access_token="cal_live_key",
        refresh_token="",
        event_type_id="1234",
        service=service,
    )


def payload(trigger="BOOKING_CREATED", uid="bFJeNb2uX8ANpT3JL5EfXw", start=START, **extra):
    return {
        "triggerEvent": trigger,
        "createdAt": "2031-05-20T10:15:00.000Z",
        "payload": {
            "type": "check-up",
            "title": "Check-up between Bright Smile Dental and Olivia Bennett",
            "startTime": start.isoformat().replace("+00:00", "Z"),
            "endTime": (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
            "organizer": {
                "id": 5,
                "name": "Bright Smile Dental",
                "email": "desk@brightsmile.example",
                "timeZone": "Europe/London",
            },
            "attendees": [
                {
                    "email": "olivia.bennett@mail.example",
                    "name": "Olivia Bennett",
                    "timeZone": "Europe/London",
                    "phoneNumber": "07911 123456",
                    "language": {"locale": "en"},
                }
            ],
            "responses": {"name": {"label": "your_name", "value": "Olivia Bennett"}},
            "eventTypeId": 1234,
            "bookingId": 91,
            "uid": uid,
            "length": 30,
            "metadata": {},
            "status": "ACCEPTED",
            **extra,
        },
    }


def deliver(client, body, *, signature=None, capture=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = (
        signature
        if signature is not None
        else hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    )
    headers = {"HTTP_X_CAL_SIGNATURE_256": signature} if signature else {}
    if capture is None:
        return client.post(URL, raw, content_type="application/json", **headers)
    with capture(execute=True):
        return client.post(URL, raw, content_type="application/json", **headers)


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    return lambda body, **kw: deliver(
        client, body, capture=django_capture_on_commit_callbacks, **kw
    )


@pytest.mark.parametrize("signature", ["", "no-secret-provided", "0" * 64, "sha256=abc"])
def test_a_bad_signature_is_403_writes_nothing_and_is_logged(send, connection, signature, caplog):
    with caplog.at_level(logging.WARNING, logger="calendars.webhooks"):
        response = send(payload(), signature=signature)
    assert response.status_code == 403
    assert not CalendarWebhookDelivery.objects.exists()
    assert not Appointment.all_organisations.exists()
    assert "bad signature" in caplog.text


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"payload": {}}', b'{"triggerEvent": "BOOKING_CREATED"}']
)
def test_a_malformed_body_is_400_never_500(send, body):
    response = send(body)
    assert response.status_code == 400
    assert not CalendarWebhookDelivery.objects.exists()


def test_a_booking_made_in_cal_com_becomes_an_appointment(send, org, london, service, connection):
    response = send(payload())

    assert response.status_code == 200
    appointment = Appointment.all_organisations.get()
    assert appointment.organisation == org
    assert (appointment.location, appointment.service) == (london, service)
    assert appointment.start_at == START
    assert appointment.end_at == START + timedelta(minutes=30)
    assert appointment.source == Appointment.Source.CALCOM
    assert appointment.status == Appointment.Status.CONFIRMED
    assert appointment.calcom_booking_uid == "bFJeNb2uX8ANpT3JL5EfXw"
    assert (appointment.name, appointment.phone) == ("Olivia Bennett", "+447911123456")
    assert appointment.customer == Customer.all_organisations.get(phone="+447911123456")
    delivery = CalendarWebhookDelivery.objects.get()
    assert delivery.processed_at is not None
    assert (delivery.organisation, delivery.error, delivery.attempts) == (org, "", 1)
    assert delivery.event_id == "BOOKING_CREATED:bFJeNb2uX8ANpT3JL5EfXw"
    assert json.loads(delivery.body)["payload"]["bookingId"] == 91
    assert "X-Cal-Signature-256" in delivery.headers


def test_a_repeated_delivery_is_acknowledged_and_not_applied_twice(send, connection):
    send(payload())
    again = send(payload())
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert Appointment.all_organisations.count() == 1
    assert CalendarWebhookDelivery.objects.count() == 1


def test_reschedule_and_cancel_follow_cal_com(send, connection):
    send(payload())
    later = START + timedelta(days=1, hours=2)

    send(
        payload(
            "BOOKING_RESCHEDULED",
            uid="newUid123",
            start=later,
            rescheduleUid="bFJeNb2uX8ANpT3JL5EfXw",
        )
    )
    appointment = Appointment.all_organisations.get()
    assert appointment.start_at == later
    assert appointment.calcom_booking_uid == "newUid123"

    send(payload("BOOKING_CANCELLED", uid="newUid123", start=later, cancellationReason="Away"))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert Appointment.all_organisations.count() == 1


def test_the_echo_of_our_own_booking_links_it_instead_of_adding_one(
    send, org, london, service, connection
):
    ours = AppointmentFactory(organisation=org, location=london, service=service, start_at=START)
    send(payload(metadata={"frontdesk_appointment_id": str(ours.pk)}))
    ours.refresh_from_db()
    assert ours.calcom_booking_uid == "bFJeNb2uX8ANpT3JL5EfXw"
    assert ours.start_at == START
    assert Appointment.all_organisations.count() == 1


def test_unknown_triggers_are_acknowledged(send, connection):
    response = send(payload("MEETING_ENDED"))
    assert response.status_code == 200
    delivery = CalendarWebhookDelivery.objects.get()
    assert delivery.processed_at is not None
    assert not Appointment.all_organisations.exists()


def test_an_unknown_event_type_is_kept_with_the_reason(send):
    response = send(payload())
    assert response.status_code == 200
    assert (
        CalendarWebhookDelivery.objects.get().error == "No Cal.com connection for event type 1234"
    )


def test_an_overlapping_booking_is_not_lost_but_reported(send, org, london, service, connection):
    AppointmentFactory(organisation=org, location=london, service=service, start_at=START)
    response = send(payload())
    assert response.status_code == 200
    delivery = CalendarWebhookDelivery.objects.get()
    assert delivery.processed_at is not None
    assert delivery.error == "That time is not available."
    note = Notification.all_organisations.get(organisation=org)
    assert "Olivia Bennett" in note.body


def test_the_admin_replays_a_delivery(client, send, org, london, service):
    send(payload())
    assert CalendarWebhookDelivery.objects.get().error.startswith("No Cal.com connection")
    CalendarConnectionFactory(
        organisation=org,
        location=london,
        provider=CalendarConnection.Provider.CALCOM,
        event_type_id="1234",
        service=service,
    )
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    delivery = CalendarWebhookDelivery.objects.get()

    response = client.post(
        reverse("admin:calendars_calendarwebhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.error, delivery.attempts) == ("", 2)
    assert Appointment.all_organisations.filter(source="calcom").count() == 1
