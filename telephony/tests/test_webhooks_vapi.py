import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from billing.models import UsageRecord
from calendars.models import Appointment
from organisations.models import Customer, Organisation
from organisations.tenancy import tenant, tenant_transaction
from telephony.models import Call, CallTransfer, TranscriptLine, WebhookDelivery
from telephony.providers import vapi
from telephony.tests import payloads
from telephony.tests.factories import EmergencyContactFactory, IntentFactory

pytestmark = pytest.mark.django_db


def _calls(org):
    return Call.all_organisations.filter(organisation=org)


# ---------------------------------------------------------------------------------------------
# Authentication and malformed input


@pytest.mark.parametrize("auth", ["secret", "bearer", "hmac"])
def test_each_credential_kind_is_accepted(client, clinic, auth):
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number), auth=auth
    )
    assert response.status_code == 200
    assert "assistant" in response.json()


@pytest.mark.parametrize(
    ("auth", "secret"),
    [("none", None), ("secret", "wrong"), ("bearer", "wrong"), ("hmac", "wrong")],
)
def test_forged_or_missing_credentials_are_403_and_write_nothing(client, clinic, auth, secret):
    response = payloads.post_vapi(
        client,
        payloads.vapi_message("assistant-request", number=clinic.number),
        auth=auth,
        secret=secret,
    )
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()
    assert not Call.all_organisations.exists()


def test_a_replayed_hmac_signature_outside_the_tolerance_is_refused(client, clinic):
    body = json.dumps(payloads.vapi_message("status-update", number=clinic.number)).encode()
    stale = int(time.time()) - settings.VAPI_WEBHOOK_TOLERANCE_SECONDS - 5
    headers = vapi.signed_headers(body, settings.VAPI_WEBHOOK_SECRET, timestamp=stale)
    response = client.post(
        "/webhooks/vapi/",
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=headers["X-Signature"],
        HTTP_X_TIMESTAMP=headers["X-Timestamp"],
    )
    assert response.status_code == 403


def test_a_signature_over_another_body_is_refused(client, clinic):
    signed = vapi.signed_headers(b'{"message": {"type": "hang"}}', settings.VAPI_WEBHOOK_SECRET)
    body = json.dumps(payloads.vapi_message("assistant-request", number=clinic.number))
    response = client.post(
        "/webhooks/vapi/",
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signed["X-Signature"],
        HTTP_X_TIMESTAMP=signed["X-Timestamp"],
    )
    assert response.status_code == 403


def test_no_configured_secret_refuses_everything(client, clinic, settings):
    settings.VAPI_WEBHOOK_SECRET = ""
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number), secret=""
    )
    assert response.status_code == 403


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"message": "hi"}', b'{"type": "x"}'])
def test_malformed_bodies_are_400(client, clinic, body):
    response = payloads.post_vapi(client, body)
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/vapi/").status_code == 405


def test_unknown_message_types_are_acknowledged(client, clinic):
    message = payloads.vapi_message("speech-update", number=clinic.number, status="started")
    response = payloads.post_vapi(client, message)
    assert response.status_code == 200
    assert response.json() == {}
    assert WebhookDelivery.objects.get().kind == "speech-update"


def test_secrets_are_not_stored_with_the_raw_delivery(client, clinic):
    payloads.post_vapi(client, payloads.vapi_message("hang", number=clinic.number), auth="bearer")
    stored = WebhookDelivery.objects.get()
    lowered = {name.lower() for name in stored.headers}
    assert "authorization" not in lowered
    assert settings.VAPI_WEBHOOK_SECRET not in json.dumps(stored.headers)


# ---------------------------------------------------------------------------------------------
# assistant-request


def test_assistant_request_returns_a_transient_assistant_for_the_called_number(client, clinic):
    IntentFactory(
        organisation=clinic.org,
        name="Parking",
        phrases="Where can I park?",
        answers={"en": "There is parking behind the clinic.", "es": "Hay aparcamiento detrás."},
    )
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert response.status_code == 200
    assistant = response.json()["assistant"]
    call = _calls(clinic.org).get()
    assert assistant["metadata"] == {
        "organisation_id": str(clinic.org.pk),
        "location_id": str(clinic.location.pk),
        "phone_number_id": str(clinic.number.pk),
        "call_id": str(call.pk),
    }
    names = [t["function"]["name"] for t in assistant["model"]["tools"] if t["type"] == "function"]
    assert names == [
        "check_availability",
        "book_appointment",
        "reschedule_appointment",
        "cancel_appointment",
        "find_customer",
        "take_message",
        "transfer_call",
        "flag_emergency",
    ]
    assert {"type": "transferCall"} in assistant["model"]["tools"]
    prompt = assistant["model"]["messages"][0]["content"]
    local_now = timezone.now().astimezone(clinic.location.zone)
    assert local_now.strftime("%Y") in prompt
    assert "Europe/London" in prompt
    assert "There is parking behind the clinic." in prompt
    assert "Check-up (30 min)" in prompt
    assert assistant["firstMessage"].startswith("Hello")
    assert "Bright Smile Dental" in assistant["firstMessage"]
    assert assistant["server"]["url"] == "https://frontdesk.test/webhooks/vapi/"
    assert assistant["voice"]["voiceId"]
    assert assistant["transcriber"]["language"] == "multi"
    assert call.customer.phone == payloads.CALLER
    assert call.status == Call.Status.RINGING


def test_the_assistant_request_is_answered_again_when_repeated(client, clinic):
    message = payloads.vapi_message("assistant-request", number=clinic.number)
    first = payloads.post_vapi(client, message).json()
    second = payloads.post_vapi(client, message).json()
    assert first["assistant"]["metadata"] == second["assistant"]["metadata"]
    assert _calls(clinic.org).count() == 1
    assert WebhookDelivery.objects.get().attempts == 2


def test_unknown_number_gets_a_spoken_error(client, clinic):
    clinic.number.number = "+442079460999"
    clinic.number.vapi_phone_number_id = "a-number-nobody-imported"
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert response.json() == {"error": "Sorry, the number you have called is not in service."}
    assert not Call.all_organisations.exists()


def test_inactive_number_is_not_in_service(client, clinic):
    clinic.number.active = False
    with tenant_transaction(clinic.org):
        clinic.number.save()
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert "error" in response.json()


def test_blocked_callers_are_refused(client, clinic):
    clinic.settings.blocked_numbers = "07911 123456"  # the caller, written the local way
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert response.json() == {"error": "Sorry, this line cannot take your call."}
    call = _calls(clinic.org).get()
    assert (call.outcome, call.status) == (Call.Outcome.BLOCKED, Call.Status.ENDED)


def test_suspended_organisation_is_forwarded_to_the_fallback_number(client, clinic):
    Organisation.objects.filter(pk=clinic.org.pk).update(status=Organisation.Status.SUSPENDED)
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert response.json() == {"destination": {"type": "number", "number": "+442079460199"}}
    assert _calls(clinic.org).get().outcome == Call.Outcome.FORWARDED


def test_suspended_without_fallback_says_sorry(client, clinic):
    Organisation.objects.filter(pk=clinic.org.pk).update(status=Organisation.Status.SUSPENDED)
    clinic.number.fallback_number = ""
    with tenant_transaction(clinic.org):
        clinic.number.save()
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert "error" in response.json()


def test_number_found_by_vapi_id_when_the_number_is_missing(client, clinic):
    message = payloads.vapi_message("assistant-request", number=clinic.number)
    del message["message"]["phoneNumber"]
    response = payloads.post_vapi(client, message)
    assert "assistant" in response.json()


def test_a_failure_while_building_forwards_the_call(client, clinic, monkeypatch):
    from telephony import assistant

    def broken(*args, **kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(assistant, "snapshot_for", broken)
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert response.status_code == 200
    assert response.json() == {"destination": {"type": "number", "number": "+442079460199"}}
    delivery = WebhookDelivery.objects.get()
    assert "database fell over" in delivery.error
    assert delivery.processed_at is None


# ---------------------------------------------------------------------------------------------
# tool-calls


def _started_call(client, clinic, call_id="0b6a3f1e-6c7d-4a55-9c1e-000000000001"):
    message = payloads.vapi_message("assistant-request", number=clinic.number, call_id=call_id)
    metadata = payloads.post_vapi(client, message).json()["assistant"]["metadata"]
    return metadata


@pytest.mark.parametrize("string_arguments", [True, False])
def test_tool_calls_answer_in_order_with_ids_echoed(client, clinic, string_arguments):
    metadata = _started_call(client, clinic)
    tomorrow = (timezone.now().astimezone(clinic.location.zone) + timedelta(days=1)).date()
    message = payloads.tool_calls(
        clinic.number,
        [
            ("call_AbC123", "check_availability", {"date": tomorrow.isoformat()}),
            ("call_XyZ789", "find_customer", {}),
        ],
        string_arguments=string_arguments,
        metadata=metadata,
    )
    response = payloads.post_vapi(client, message)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["toolCallId"] for r in results] == ["call_AbC123", "call_XyZ789"]
    assert "9:00" in results[0]["result"]
    assert "are free for Check-up" in results[0]["result"]
    assert "\n" not in results[0]["result"]
    assert results[1]["result"].endswith("treat them as a new patient.")
    call = _calls(clinic.org).get()
    assert [t["name"] for t in call.tools_used] == ["check_availability", "find_customer"]


def test_tool_errors_are_200_with_an_error_string(client, clinic):
    metadata = _started_call(client, clinic)
    message = payloads.tool_calls(
        clinic.number,
        [
            ("t1", "check_availability", {"date": "the day after never"}),
            ("t2", "book_appointment", {"date": "tomorrow"}),
            ("t3", "launch_rocket", {}),
        ],
        metadata=metadata,
    )
    message["message"]["toolCallList"].append(
        {
            "id": "t4",
            "type": "function",
            "function": {"name": "find_customer", "arguments": "{oops"},
        }
    )
    response = payloads.post_vapi(client, message)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["toolCallId"] for r in results] == ["t1", "t2", "t3", "t4"]
    assert all("error" in r and "result" not in r for r in results)
    assert "not a date" in results[0]["error"]
    assert "time" in results[1]["error"]
    assert "no tool called launch_rocket" in results[2]["error"]
    assert "JSON" in results[3]["error"]


def test_booking_through_tool_calls_books_once_per_tool_call_id(client, clinic):
    metadata = _started_call(client, clinic)
    tomorrow = (timezone.now().astimezone(clinic.location.zone) + timedelta(days=1)).date()
    arguments = {"date": tomorrow.isoformat(), "time": "10:00", "name": "Jane Doe"}
    message = payloads.tool_calls(
        clinic.number, [("call_book_1", "book_appointment", arguments)], metadata=metadata
    )
    first = payloads.post_vapi(client, message).json()["results"][0]
    again = payloads.post_vapi(client, message).json()["results"][0]
    assert first["result"].startswith("Booked: Check-up on")
    assert again == first
    with tenant(clinic.org):
        appointment = Appointment.objects.get()
        call = Call.objects.get()
        assert list(call.appointment_links.values_list("appointment", flat=True)) == [
            appointment.pk
        ]
    assert appointment.source == Appointment.Source.PHONE
    assert appointment.start_at.astimezone(clinic.location.zone).hour == 10
    assert call.outcome == Call.Outcome.BOOKED


def test_tool_calls_for_an_unknown_number_answer_errors(client, clinic):
    clinic.number.number = "+442079460999"
    clinic.number.vapi_phone_number_id = "nobody"
    message = payloads.tool_calls(clinic.number, [("t1", "find_customer", {})])
    (result,) = payloads.post_vapi(client, message).json()["results"]
    assert result["toolCallId"] == "t1"
    assert "not connected to a clinic" in result["error"]


# ---------------------------------------------------------------------------------------------
# status-update, end-of-call-report, transcript, hang


def test_call_lifecycle_and_duplicate_out_of_order_reports(client, clinic):
    metadata = _started_call(client, clinic)
    started = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)
    in_progress = payloads.vapi_message(
        "status-update", number=clinic.number, metadata=metadata, status="in-progress"
    )
    report = payloads.end_of_call_report(clinic.number, started=started, metadata=metadata)
    ended = payloads.vapi_message(
        "status-update",
        number=clinic.number,
        metadata=metadata,
        status="ended",
        endedReason="customer-ended-call",
    )
    # The report first, then a late in-progress, then the report again, then "ended".
    for message in (report, in_progress, report, ended):
        assert payloads.post_vapi(client, message).status_code == 200

    call = _calls(clinic.org).get()
    assert call.status == Call.Status.ENDED
    assert call.started_at == started
    assert call.duration_seconds == 95
    assert call.ended_reason == "customer-ended-call"
    assert str(call.cost) == "0.1234"
    assert call.summary.startswith("Jane Doe booked")
    assert call.recording_url.endswith("abc-mono.wav")
    assert call.success_evaluation == "true"
    assert call.is_final
    lines = list(TranscriptLine.all_organisations.filter(call=call).order_by("position"))
    assert [line.role for line in lines] == [
        "assistant",
        "caller",
        "assistant",
        "caller",
        "assistant",
    ]
    assert lines[1].spoken_at == started + timedelta(seconds=4.2)
    assert lines[1].seconds_from_start == 4.2
    assert UsageRecord.all_organisations.filter(organisation=clinic.org).count() == 1
    assert UsageRecord.all_organisations.get().seconds == 95
    assert WebhookDelivery.objects.filter(kind="end-of-call-report").get().attempts == 1


def test_a_report_for_a_call_we_never_saw_creates_it(client, clinic):
    report = payloads.end_of_call_report(
        clinic.number, started=datetime(2026, 5, 12, 9, tzinfo=UTC), call_id="never-seen-call"
    )
    payloads.post_vapi(client, report)
    call = _calls(clinic.org).get()
    assert call.provider_call_id == "never-seen-call"
    assert call.customer == Customer.all_organisations.get(phone=payloads.CALLER)
    assert call.outcome == Call.Outcome.ANSWERED


def test_live_transcript_lines_are_replaced_by_the_report(client, clinic):
    metadata = _started_call(client, clinic)
    for role, text in [("assistant", "Hello!"), ("user", "Hi there")]:
        message = payloads.vapi_message(
            "transcript",
            number=clinic.number,
            metadata=metadata,
            role=role,
            transcriptType="final",
            transcript=text,
        )
        payloads.post_vapi(client, message)
    partial = payloads.vapi_message(
        "transcript",
        number=clinic.number,
        metadata=metadata,
        role="user",
        transcriptType="partial",
        transcript="Hi th",
    )
    payloads.post_vapi(client, partial)
    call = _calls(clinic.org).get()
    assert list(TranscriptLine.all_organisations.filter(call=call).values_list("role", "text")) == [
        ("assistant", "Hello!"),
        ("caller", "Hi there"),
    ]
    payloads.post_vapi(
        client,
        payloads.end_of_call_report(
            clinic.number, started=datetime(2026, 5, 12, 9, tzinfo=UTC), metadata=metadata
        ),
    )
    assert TranscriptLine.all_organisations.filter(call=call).count() == 5
    late = payloads.vapi_message(
        "transcript",
        number=clinic.number,
        metadata=metadata,
        role="user",
        transcriptType="final",
        transcript="Late line",
    )
    payloads.post_vapi(client, late)
    assert TranscriptLine.all_organisations.filter(call=call).count() == 5


def test_hang_counts_assistant_delays_once_per_delivery(client, clinic):
    metadata = _started_call(client, clinic)
    message = payloads.vapi_message("hang", number=clinic.number, metadata=metadata)
    payloads.post_vapi(client, message)
    payloads.post_vapi(client, message)
    assert _calls(clinic.org).get().assistant_delays == 1


def test_language_change_is_recorded(client, clinic):
    metadata = _started_call(client, clinic)
    payloads.post_vapi(
        client,
        payloads.vapi_message(
            "language-change-detected", number=clinic.number, metadata=metadata, language="es"
        ),
    )
    assert _calls(clinic.org).get().language == "es"


# ---------------------------------------------------------------------------------------------
# transfer-destination-request


def test_transfer_destination_comes_from_the_settings_while_open(client, clinic):
    metadata = _started_call(client, clinic)
    message = payloads.vapi_message(
        "transfer-destination-request", number=clinic.number, metadata=metadata
    )
    answer = payloads.post_vapi(client, message).json()
    # Open or not, someone is reachable: the desk while open, the rota (empty here) otherwise.
    assert answer["destination"]["type"] == "number"
    assert answer["destination"]["number"] == "+442079460150"
    assert answer["destination"]["transferPlan"]["mode"].startswith("warm-transfer")
    transfer = CallTransfer.all_organisations.get()
    assert transfer.status == CallTransfer.Status.CONNECTING
    assert _calls(clinic.org).get().outcome == Call.Outcome.TRANSFERRED


def test_emergency_transfers_go_to_the_on_call_rota_first(client, clinic):
    contact = EmergencyContactFactory(
        organisation=clinic.org, name="Dr Patel", phone="+447911123777", priority=1
    )
    metadata = _started_call(client, clinic)
    with tenant_transaction(clinic.org):
        Call.objects.update(is_emergency=True)
    message = payloads.vapi_message(
        "transfer-destination-request", number=clinic.number, metadata=metadata
    )
    answer = payloads.post_vapi(client, message).json()
    assert answer["destination"]["number"] == contact.phone
    assert CallTransfer.all_organisations.get().contact == contact


def test_transfer_refused_when_nobody_is_reachable(client, clinic):
    clinic.settings.transfer_number = ""
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    metadata = _started_call(client, clinic)
    message = payloads.vapi_message(
        "transfer-destination-request", number=clinic.number, metadata=metadata
    )
    assert "error" in payloads.post_vapi(client, message).json()


# ---------------------------------------------------------------------------------------------
# Replay from the admin


def test_a_failed_delivery_can_be_replayed_from_the_admin(client, clinic, monkeypatch):
    from django.contrib.auth import get_user_model

    from telephony import events

    metadata = _started_call(client, clinic)
    report = payloads.end_of_call_report(
        clinic.number, started=datetime(2026, 5, 12, 9, tzinfo=UTC), metadata=metadata
    )
    original = events.VAPI_HANDLERS["end-of-call-report"]
    monkeypatch.setitem(events.VAPI_HANDLERS, "end-of-call-report", _explode)
    assert payloads.post_vapi(client, report).status_code == 200
    delivery = WebhookDelivery.objects.get(kind="end-of-call-report")
    assert delivery.error
    assert delivery.processed_at is None
    assert not _calls(clinic.org).get().is_final

    monkeypatch.setitem(events.VAPI_HANDLERS, "end-of-call-report", original)
    admin = get_user_model().objects.create_superuser("root@frontdesk.test", "pw-123456789")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        "/admin/telephony/webhookdelivery/",
        {"action": "replay", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert delivery.error == ""
    assert delivery.attempts == 2
    assert _calls(clinic.org).get().is_final


def _explode(message, number):
    raise RuntimeError("worker died")


def test_messages_about_no_call_create_nothing(client, clinic):
    message = payloads.vapi_message("hang", number=clinic.number)
    del message["message"]["call"]
    assert payloads.post_vapi(client, message).json() == {}
    tools = payloads.tool_calls(clinic.number, [("t1", "find_customer", {})])
    del tools["message"]["call"]
    (result,) = payloads.post_vapi(client, tools).json()["results"]
    assert "not connected" in result["error"]
    assert not Call.all_organisations.exists()


def test_an_unpaid_subscription_forwards_calls_to_the_fallback_number(client, clinic):
    """Billing's suspension reaches the phone: the patient gets a person, never silence."""
    from django.core.cache import cache

    from billing.tests.factories import SubscriptionFactory

    SubscriptionFactory(organisation=clinic.org, status="unpaid")
    cache.clear()
    response = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    )
    assert response.json() == {"destination": {"type": "number", "number": "+442079460199"}}
    assert _calls(clinic.org).get().outcome == Call.Outcome.FORWARDED
