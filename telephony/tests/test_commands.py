from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from calendars.models import Appointment
from organisations.models import Organisation
from telephony.models import (
    AssistantSettings,
    Call,
    CallAppointment,
    EmergencyContact,
    Intent,
    PhoneNumber,
    TranscriptLine,
    VoiceAgent,
    WebhookDelivery,
)

pytestmark = pytest.mark.django_db


def test_simulate_call_drives_a_whole_booking_through_the_webhook(
    clinic, django_capture_on_commit_callbacks, settings
):
    settings.ALLOWED_HOSTS = ["frontdesk.test"]  # the host of PUBLIC_BASE_URL, as in production
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "simulate_call", "--to", clinic.number.number, "--from", "+447911123456", stdout=out
        )
    call = Call.all_organisations.get()
    assert (call.status, call.outcome) == (Call.Status.ENDED, Call.Outcome.BOOKED)
    assert call.is_final
    assert TranscriptLine.all_organisations.filter(call=call).count() == 6
    (link,) = CallAppointment.all_organisations.filter(call=call)
    assert link.appointment.name == "Jane Doe"
    assert link.appointment.source == Appointment.Source.PHONE
    kinds = list(WebhookDelivery.objects.order_by("received_at").values_list("kind", flat=True))
    assert kinds == [
        "assistant-request",
        "status-update",
        "tool-calls",
        "tool-calls",
        "status-update",
        "end-of-call-report",
    ]
    printed = out.getvalue()
    assert "Appointment booked: Check-up at Camden" in printed
    assert f"/calls/{call.pk}/" in printed


def test_simulate_call_needs_a_known_number(clinic):
    with pytest.raises(CommandError, match="not an active Frontdesk number"):
        call_command("simulate_call", "--to", "+442079460555", "--from", "+447911123456")


def test_seeding_twice_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    counts = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == counts
    assert counts[Call] > 100
    assert counts[PhoneNumber] == 4
    clinic = Organisation.objects.get(slug="bright-smile-dental")
    assert Call.all_organisations.filter(organisation=clinic, outcome="emergency").exists()


def _counts():
    models = [
        VoiceAgent,
        PhoneNumber,
        AssistantSettings,
        Intent,
        EmergencyContact,
        Call,
        TranscriptLine,
        CallAppointment,
    ]
    return {model: model._default_manager.count() for model in models}
