import io
from urllib.parse import parse_qs

import pytest
import requests
import responses

from organisations.models import Customer, Notification
from organisations.tenancy import tenant_transaction
from telephony import sms
from telephony.models import SmsMessage
from telephony.tasks import deliver_sms
from telephony.tests import payloads
from telephony.tests.factories import TelephonySettingsFactory

pytestmark = pytest.mark.django_db
TWILIO = "telephony.sms.TwilioBackend"


def queue(clinic, to=payloads.CALLER, body="Hello from the clinic", capture=None, **kwargs):
    with capture(execute=True), tenant_transaction(clinic.org):
        message = sms.queue(to, body, location=clinic.location, **kwargs)
    message.refresh_from_db()
    return message


def test_in_memory_backend_collects_texts_from_the_locations_number(
    clinic, django_capture_on_commit_callbacks
):
    message = queue(clinic, capture=django_capture_on_commit_callbacks, template_key="help")
    (sent,) = sms.outbox
    assert (sent.to, sent.from_number, sent.body) == (
        payloads.CALLER,
        clinic.number.number,
        "Hello from the clinic",
    )
    assert sent.status_callback == "https://frontdesk.test/webhooks/twilio/sms-status/"
    assert message.status == SmsMessage.Status.SENT
    assert message.twilio_sid.startswith("SM")
    assert message.attempts == 1


def test_console_backend_prints(clinic, django_capture_on_commit_callbacks, settings, monkeypatch):
    settings.SMS_BACKEND = "telephony.sms.ConsoleBackend"
    stream = io.StringIO()
    monkeypatch.setattr(sms.ConsoleBackend, "stream", stream)
    queue(clinic, capture=django_capture_on_commit_callbacks)
    assert "Hello from the clinic" in stream.getvalue()
    assert f"to {payloads.CALLER}" in stream.getvalue()


def test_nobody_who_opted_out_is_texted(clinic, django_capture_on_commit_callbacks):
    with tenant_transaction(clinic.org):
        Customer.objects.create(phone=payloads.CALLER, sms_opt_out=True)
    message = queue(clinic, capture=django_capture_on_commit_callbacks)
    assert not sms.outbox
    assert (message.status, message.error_code) == ("failed", SmsMessage.OPTED_OUT)


def test_an_opt_out_between_queueing_and_sending_is_honoured(
    clinic, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        tenant_transaction(clinic.org),
    ):
        message = sms.queue(payloads.CALLER, "Reminder", location=clinic.location)
    with tenant_transaction(clinic.org):
        Customer.objects.create(phone=payloads.CALLER, sms_opt_out=True)
    for callback in callbacks:
        callback()
    message.refresh_from_db()
    assert not sms.outbox
    assert message.error_code == SmsMessage.OPTED_OUT


# ---------------------------------------------------------------------------------------------
# The Twilio backend, through the official SDK, HTTP mocked at the transport


@responses.activate
def test_twilio_backend_sends_with_the_sdk(clinic, django_capture_on_commit_callbacks, settings):
    settings.SMS_BACKEND = TWILIO
    responses.post(
        payloads.twilio_messages_url(), json=payloads.twilio_message_resource(), status=201
    )
    message = queue(clinic, capture=django_capture_on_commit_callbacks)
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["To"] == [payloads.CALLER]
    assert sent["From"] == [clinic.number.number]
    assert sent["StatusCallback"] == ["https://frontdesk.test/webhooks/twilio/sms-status/"]
    assert (message.twilio_sid, message.status) == ("SM" + "3" * 32, "queued")


@responses.activate
def test_the_organisations_subaccount_sends_its_texts(
    clinic, django_capture_on_commit_callbacks, settings
):
    settings.SMS_BACKEND = TWILIO
    sub = "AC" + "7" * 32
    TelephonySettingsFactory(organisation=clinic.org, twilio_account_sid=sub, twilio_auth_token="t")
    responses.post(
        payloads.twilio_messages_url(sub), json=payloads.twilio_message_resource(), status=201
    )
    queue(clinic, capture=django_capture_on_commit_callbacks)
    assert len(responses.calls) == 1


@responses.activate
def test_twilio_opt_out_error_is_permanent_and_mirrored(
    clinic, django_capture_on_commit_callbacks, settings
):
    settings.SMS_BACKEND = TWILIO
    with tenant_transaction(clinic.org):
        customer = Customer.objects.create(phone=payloads.CALLER)
    responses.post(
        payloads.twilio_messages_url(),
        json={
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610",
            "status": 400,
        },
        status=400,
    )
    message = queue(clinic, capture=django_capture_on_commit_callbacks)
    assert len(responses.calls) == 1  # not retried
    assert (message.status, message.error_code) == ("failed", SmsMessage.OPTED_OUT)
    customer.refresh_from_db()
    assert customer.sms_opt_out


@responses.activate
def test_other_permanent_errors_are_recorded_with_their_code(
    clinic, django_capture_on_commit_callbacks, settings
):
    settings.SMS_BACKEND = TWILIO
    responses.post(
        payloads.twilio_messages_url(),
        json={"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
        status=400,
    )
    message = queue(clinic, capture=django_capture_on_commit_callbacks)
    assert len(responses.calls) == 1
    assert (message.status, message.error_code) == ("failed", "21211")
    assert "Invalid 'To'" in message.error_message


@responses.activate
def test_a_transient_error_is_recorded_and_retried(
    clinic, django_capture_on_commit_callbacks, settings
):
    settings.SMS_BACKEND = TWILIO
    url = payloads.twilio_messages_url()
    responses.post(url, json={"code": 20500, "message": "Internal", "status": 500}, status=500)
    responses.post(url, body=requests.exceptions.ConnectionError("reset by peer"))
    responses.post(url, json=payloads.twilio_message_resource(), status=201)
    message = queue(clinic, capture=django_capture_on_commit_callbacks)
    assert (message.status, message.attempts) == (SmsMessage.Status.QUEUED, 1)
    assert "Internal" in message.error_message
    kwargs = {"organisation_id": str(clinic.org.pk), "sms_id": str(message.pk)}
    # What the worker runs when Celery delivers the retries.
    deliver_sms.apply(kwargs=kwargs, retries=1)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (SmsMessage.Status.QUEUED, 2)
    deliver_sms.apply(kwargs=kwargs, retries=2)
    message.refresh_from_db()
    assert len(responses.calls) == 3
    assert (message.status, message.attempts) == (SmsMessage.Status.QUEUED, 3)  # Twilio's status
    assert message.twilio_sid


def test_celery_is_asked_to_retry_with_backoff(clinic, settings, monkeypatch):
    settings.SMS_BACKEND = TWILIO
    retried = []
    monkeypatch.setattr(
        deliver_sms, "retry", lambda **kwargs: retried.append(kwargs), raising=False
    )
    with responses.RequestsMock() as mocked:
        mocked.post(payloads.twilio_messages_url(), json={"status": 503}, status=503)
        with tenant_transaction(clinic.org):
            message = sms.queue(payloads.CALLER, "Hi", location=clinic.location)
        deliver_sms.apply(kwargs={"organisation_id": str(clinic.org.pk), "sms_id": str(message.pk)})
    assert retried[0]["countdown"] == 30
    assert retried[0]["throw"] is False


@responses.activate
def test_a_provider_that_keeps_failing_is_given_up_visibly(clinic, settings):
    settings.SMS_BACKEND = TWILIO
    responses.post(
        payloads.twilio_messages_url(),
        json={"code": 20429, "message": "Too Many Requests", "status": 429},
        status=429,
    )
    with tenant_transaction(clinic.org):
        message = sms.queue(payloads.CALLER, "Hi", location=clinic.location)
    deliver_sms.apply(
        kwargs={"organisation_id": str(clinic.org.pk), "sms_id": str(message.pk)},
        retries=deliver_sms.max_retries,
    )
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "transient")
    assert message.attempts == deliver_sms.max_retries + 1
    assert Notification.all_organisations.get().title == "A text could not be sent"


def test_no_sender_number_fails_permanently_with_twilio(
    clinic, django_capture_on_commit_callbacks, settings
):
    settings.SMS_BACKEND = TWILIO
    clinic.number.sms_enabled = False
    with tenant_transaction(clinic.org):
        clinic.number.save()
    message = queue(clinic, capture=django_capture_on_commit_callbacks)
    assert message.status == SmsMessage.Status.FAILED
    assert "No SMS-capable number" in message.error_message


def test_templates_render_in_the_customers_language_with_the_opt_out_line():
    text = sms.render(
        "confirmation.booked", "es", clinic="Clínica Sol", service="Revisión", when="lunes"
    )
    assert text == (
        "Clínica Sol: su cita de Revisión está reservada para el lunes. Responda STOP para no "
        "recibir más mensajes."
    )
    assert sms.render("help", "de", clinic="X", phone="1").startswith("X: appointment texts")


def test_every_template_has_every_language_and_fills_in(settings):
    words = {
        "clinic": "C",
        "service": "S",
        "when": "W",
        "phone": "P",
        "caller": "N",
        "message": "M",
        "location": "L",
        "summary": "Y",
    }
    for key, variants in sms.TEMPLATES.items():
        assert set(variants) == {code for code, _ in settings.LANGUAGES} | {"ru"}, key
        for language in variants:
            assert "{" not in sms.render(key, language, **words)
