import json

import pytest
import requests
import responses
from django.conf import settings

from organisations.models import Customer, Notification
from organisations.tenancy import tenant_transaction
from telephony import sms
from telephony.models import Call, EmergencyNotification, SmsMessage, WebhookDelivery
from telephony.tests import payloads
from telephony.tests.factories import (
    EmergencyContactFactory,
    EmergencyNotificationFactory,
    SmsMessageFactory,
    TelephonySettingsFactory,
)

pytestmark = pytest.mark.django_db
VOICE = "/webhooks/twilio/voice/"
STATUS = "/webhooks/twilio/status/"
SMS = "/webhooks/twilio/sms/"
SMS_STATUS = "/webhooks/twilio/sms-status/"
VAPI_CALL = f"{settings.VAPI_API_URL}/call"


# ---------------------------------------------------------------------------------------------
# Signatures


@pytest.mark.parametrize("path", [VOICE, STATUS, SMS, SMS_STATUS])
@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_forged_or_missing_signatures_are_403_and_write_nothing(client, clinic, path, signature):
    params = payloads.voice_params(clinic.number.number)
    response = payloads.post_twilio(client, path, params, signature=signature or False)
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()
    assert not Call.all_organisations.exists()


def test_a_signature_for_another_url_is_refused(client, clinic):
    params = payloads.voice_params(clinic.number.number)
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        "https://frontdesk.test/webhooks/twilio/sms/", params
    )
    assert payloads.post_twilio(client, VOICE, params, signature=signature).status_code == 403


def test_a_signature_with_the_platform_token_is_refused_for_a_subaccount_number(client, clinic):
    TelephonySettingsFactory(
        organisation=clinic.org, twilio_account_sid="AC" + "9" * 32, twilio_auth_token="sub-token"
    )
    params = payloads.voice_params(clinic.number.number)
    assert payloads.post_twilio(client, VOICE, params).status_code == 403
    with responses.RequestsMock() as mocked:
        mocked.post(VAPI_CALL, json=payloads.vapi_created_call(), status=201)
        response = payloads.post_twilio(client, VOICE, params, token="sub-token")
    assert response.status_code == 200


@responses.activate
def test_the_public_url_is_rebuilt_from_the_setting_behind_a_proxy(client, clinic):
    responses.post(VAPI_CALL, json=payloads.vapi_created_call(), status=201)
    params = payloads.voice_params(clinic.number.number)
    # Django sees http://testserver; Twilio signed https://frontdesk.test.
    response = payloads.post_twilio(client, VOICE, params)
    assert response.status_code == 200


def test_signed_but_incomplete_forms_are_400(client, clinic):
    params = {"To": clinic.number.number, "AccountSid": payloads.ACCOUNT_SID}
    assert payloads.post_twilio(client, VOICE, params).status_code == 400


# ---------------------------------------------------------------------------------------------
# Voice


@responses.activate
def test_an_inbound_call_is_handed_to_vapi_and_answered_with_its_twiml(client, clinic):
    created = payloads.vapi_created_call()
    responses.post(VAPI_CALL, json=created, status=201)
    response = payloads.post_twilio(client, VOICE, payloads.voice_params(clinic.number.number))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode() == created["phoneCallProviderDetails"]["twiml"]

    sent = json.loads(responses.calls[0].request.body)
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {settings.VAPI_API_KEY}"
    assert sent["phoneCallProviderBypassEnabled"] is True
    assert sent["phoneNumberId"] == "vapi-pn-camden"
    assert sent["customer"] == {"number": payloads.CALLER}
    call = Call.all_organisations.get()
    assert sent["assistant"]["metadata"]["call_id"] == str(call.pk)
    assert (call.provider, call.provider_call_id) == ("vapi", created["id"])
    assert call.twilio_call_sid == "CA" + "1" * 32


@responses.activate
def test_vapi_messages_after_the_twilio_path_update_the_same_call(client, clinic):
    responses.post(VAPI_CALL, json=payloads.vapi_created_call(), status=201)
    payloads.post_twilio(client, VOICE, payloads.voice_params(clinic.number.number))
    call = Call.all_organisations.get()
    message = payloads.vapi_message(
        "status-update",
        number=clinic.number,
        call_id=call.provider_call_id,
        status="in-progress",
        metadata=payloads.metadata_for(clinic.number, call),
    )
    payloads.post_vapi(client, message)
    assert Call.all_organisations.get().status == Call.Status.IN_PROGRESS


def test_unknown_number_hears_not_in_service(client, clinic):
    response = payloads.post_twilio(client, VOICE, payloads.voice_params("+442079460555"))
    assert response.status_code == 200
    assert b"not in service" in response.content
    assert b"<Hangup" in response.content


@responses.activate
@pytest.mark.parametrize(
    "failure",
    [
        {"json": {"message": "internal"}, "status": 500},
        {"body": requests.exceptions.ConnectTimeout("timed out")},
        {"json": {"message": ["assistant.model must be an object"]}, "status": 400},
    ],
)
def test_a_vapi_failure_dials_the_fallback_number(client, clinic, failure):
    responses.post(VAPI_CALL, **failure)
    response = payloads.post_twilio(client, VOICE, payloads.voice_params(clinic.number.number))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<Dial" in body
    assert "+442079460199" in body
    call = Call.all_organisations.get()
    assert call.outcome == Call.Outcome.FORWARDED
    assert call.ended_reason == "assistant-unavailable"
    assert Notification.all_organisations.filter(organisation=clinic.org).exists()


def test_blocked_callers_are_rejected(client, clinic):
    clinic.settings.blocked_numbers = payloads.CALLER
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    response = payloads.post_twilio(client, VOICE, payloads.voice_params(clinic.number.number))
    assert b"<Reject" in response.content


@responses.activate
def test_call_status_callbacks_update_the_call_and_never_go_back(client, clinic):
    responses.post(VAPI_CALL, json=payloads.vapi_created_call(), status=201)
    sid = "CA" + "1" * 32
    payloads.post_twilio(client, VOICE, payloads.voice_params(clinic.number.number, call_sid=sid))
    completed = payloads.call_status_params(
        clinic.number.number, call_sid=sid, status="completed", duration=61
    )
    assert payloads.post_twilio(client, STATUS, completed).status_code == 204
    late = payloads.call_status_params(clinic.number.number, call_sid=sid, status="in-progress")
    late["SequenceNumber"] = "1"
    payloads.post_twilio(client, STATUS, late)
    call = Call.all_organisations.get()
    assert call.status == Call.Status.ENDED
    assert call.duration_seconds == 61
    assert call.ended_reason == "twilio-completed"


# ---------------------------------------------------------------------------------------------
# SMS


def _customer(clinic, **fields):
    with tenant_transaction(clinic.org):
        return Customer.objects.create(phone=payloads.CALLER, name="Jane Doe", **fields)


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "StopAll", "UNSUBSCRIBE", "cancel", "END", "QUIT"]
)
def test_stop_words_opt_the_customer_out(client, clinic, word):
    customer = _customer(clinic)
    params = payloads.inbound_sms_params(to=clinic.number.number, body=word)
    response = payloads.post_twilio(client, SMS, params)
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.sms_opt_out
    inbound = SmsMessage.all_organisations.get()
    assert (inbound.direction, inbound.customer) == ("inbound", customer)


@pytest.mark.parametrize("word", ["START", "unstop"])
def test_start_words_opt_back_in(client, clinic, word):
    customer = _customer(clinic, sms_opt_out=True)
    payloads.post_twilio(
        client, SMS, payloads.inbound_sms_params(to=clinic.number.number, body=word)
    )
    customer.refresh_from_db()
    assert not customer.sms_opt_out


def test_help_is_answered_in_the_customers_language(
    client, clinic, django_capture_on_commit_callbacks
):
    _customer(clinic, preferred_language="es")
    params = payloads.inbound_sms_params(to=clinic.number.number, body="help")
    with django_capture_on_commit_callbacks(execute=True):
        payloads.post_twilio(client, SMS, params)
    (reply,) = sms.outbox
    assert reply.to == payloads.CALLER
    assert reply.from_number == clinic.number.number
    assert "Bright Smile Dental" in reply.body
    assert "Responda STOP" in reply.body


def test_other_texts_are_stored_against_the_customer_and_shown_to_staff(client, clinic):
    params = payloads.inbound_sms_params(to=clinic.number.number, body="Running 5 min late, sorry!")
    payloads.post_twilio(client, SMS, params)
    payloads.post_twilio(client, SMS, params)  # Twilio retried
    message = SmsMessage.all_organisations.get()
    assert message.body == "Running 5 min late, sorry!"
    assert message.customer.phone == payloads.CALLER
    assert message.status == SmsMessage.Status.RECEIVED
    assert Notification.all_organisations.filter(title__startswith="Text from").count() == 1


def test_an_on_call_reply_acknowledges_the_emergency(client, clinic):
    contact = EmergencyContactFactory(organisation=clinic.org, phone="+447911123777")
    alert = EmergencyNotificationFactory(organisation=clinic.org, contact=contact)
    params = payloads.inbound_sms_params(to=clinic.number.number, sender=contact.phone, body="ok")
    payloads.post_twilio(client, SMS, params)
    alert.refresh_from_db()
    assert alert.status == EmergencyNotification.Status.ACKNOWLEDGED
    assert alert.acknowledged_at is not None
    assert not Customer.all_organisations.filter(phone=contact.phone).exists()


def test_sms_status_callbacks_update_delivery_and_never_go_back(client, clinic):
    text = SmsMessageFactory(
        organisation=clinic.org,
        twilio_sid="SM" + "4" * 32,
        status=SmsMessage.Status.SENT,
        from_number=clinic.number.number,
    )
    for status in ("delivered", "sent"):
        params = payloads.sms_status_params(
            sid=text.twilio_sid, status=status, sender=clinic.number.number
        )
        assert payloads.post_twilio(client, SMS_STATUS, params).status_code == 204
    text.refresh_from_db()
    assert text.status == SmsMessage.Status.DELIVERED
    assert text.delivered_at is not None


def test_undelivered_emergency_texts_escalate_at_once(client, clinic):
    text = SmsMessageFactory(
        organisation=clinic.org, twilio_sid="SM" + "5" * 32, status=SmsMessage.Status.SENT
    )
    alert = EmergencyNotificationFactory(organisation=clinic.org, sms=text)
    params = payloads.sms_status_params(
        sid=text.twilio_sid, status="undelivered", sender=clinic.number.number, error="30003"
    )
    payloads.post_twilio(client, SMS_STATUS, params)
    text.refresh_from_db()
    alert.refresh_from_db()
    assert (text.status, text.error_code) == ("undelivered", "30003")
    assert alert.status == EmergencyNotification.Status.FAILED
    assert alert.escalate_at is not None


@responses.activate
def test_a_retried_voice_webhook_keeps_one_call(client, clinic):
    responses.post(VAPI_CALL, json=payloads.vapi_created_call("first-vapi-call"), status=201)
    responses.post(VAPI_CALL, json=payloads.vapi_created_call("second-vapi-call"), status=201)
    params = payloads.voice_params(clinic.number.number)
    payloads.post_twilio(client, VOICE, params)
    response = payloads.post_twilio(client, VOICE, params)
    assert b"second-vapi-call" in response.content
    call = Call.all_organisations.get()
    assert call.provider_call_id == "second-vapi-call"


@responses.activate
def test_a_suspended_clinics_call_is_dialled_to_its_fallback_without_asking_vapi(client, clinic):
    from django.core.cache import cache

    from billing.tests.factories import SubscriptionFactory

    SubscriptionFactory(organisation=clinic.org, status="unpaid")
    cache.clear()
    response = payloads.post_twilio(client, VOICE, payloads.voice_params(clinic.number.number))
    body = response.content.decode()
    assert "<Dial" in body
    assert "+442079460199" in body
    assert len(responses.calls) == 0, "no Vapi call is created for a suspended clinic"
    assert Call.all_organisations.get().outcome == Call.Outcome.FORWARDED
