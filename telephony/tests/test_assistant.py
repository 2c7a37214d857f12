from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calendars.models import Closure, WorkingHours
from organisations.tenancy import tenant_transaction
from telephony import assistant, events
from telephony.models import AssistantSettings, Call, Intent
from telephony.tests.factories import CustomVoiceFactory, IntentFactory, VoiceAgentFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
# A Tuesday ahead (closures in the past are not loaded), 10:00 and 22:00 in London.
_soon = timezone.now().date() + timedelta(days=7)
TUESDAY = _soon + timedelta(days=(1 - _soon.weekday()) % 7)
TUESDAY_10 = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
TUESDAY_22 = datetime.combine(TUESDAY, time(22), tzinfo=LONDON)
DAY_NAME = f"Tuesday {TUESDAY.day} {TUESDAY:%B} {TUESDAY.year}"


def snapshot(clinic):
    with tenant_transaction(clinic.org):
        return assistant.snapshot_for(clinic.number)


def build(clinic, now):
    with tenant_transaction(clinic.org):
        snap = assistant.snapshot_for(clinic.number)
        return assistant.build(snap, now, call=Call(id=None))


def test_open_and_closed_use_their_greeting_and_rules(clinic):
    clinic.settings.after_hours_behaviour = AssistantSettings.AfterHours.TAKE_MESSAGE
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    day = build(clinic, TUESDAY_10)
    night = build(clinic, TUESDAY_22)
    assert (
        day.first_message
        == "Hello, thank you for calling Bright Smile Dental. How can I help you today?"
    )
    assert night.first_message.startswith("Hello, you've reached Bright Smile Dental. We're closed")
    assert "is OPEN right now" in day.system_prompt
    assert "is CLOSED right now" in night.system_prompt
    assert "do not book" in night.system_prompt
    assert f"{DAY_NAME}, 10:00 local time (Europe/London)" in day.system_prompt
    assert f"{DAY_NAME}, 22:00" in night.system_prompt


def test_a_closure_closes_the_clinic(clinic):
    with tenant_transaction(clinic.org):
        Closure.objects.create(
            location=clinic.location,
            start_date=TUESDAY,
            end_date=TUESDAY,
            reason="Training day",
        )
    assert not snapshot(clinic).is_open(TUESDAY_10)


def test_the_prompt_carries_intents_per_language_and_the_emergency_number(clinic):
    IntentFactory(
        organisation=clinic.org,
        name="Hours",
        phrases="When are you open?",
        answers={"en": "9 to 5.", "es": "De 9 a 5.", "ru": "С 9 до 5."},  # noqa: RUF001
        action=Intent.Action.ANSWER,
    )
    IntentFactory(organisation=clinic.org, name="Old", active=False)
    prompt = build(clinic, TUESDAY_10).system_prompt
    assert (
        '- Hours: answer it. Callers say things like "When are you open?". Answer: (en) 9 to 5.'
        in prompt
    )
    assert "(es) De 9 a 5." in prompt
    assert "Old" not in prompt
    assert "call 999 now" in prompt
    assert "bleeding" in prompt


def test_the_chosen_voice_and_custom_voice(clinic):
    agent = VoiceAgentFactory(
        name="Lucía", voice_provider="azure", voice_id="es-ES-ElviraNeural", model="gpt-4o-mini"
    )
    clinic.settings.voice_agent = agent
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    config = build(clinic, TUESDAY_10)
    assert (config.voice_provider, config.voice_id, config.model) == (
        "azure",
        "es-ES-ElviraNeural",
        "gpt-4o-mini",
    )
    clinic.settings.custom_voice = CustomVoiceFactory(
        organisation=clinic.org, provider="11labs", voice_id="our-cloned-voice"
    )
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    config = build(clinic, TUESDAY_10)
    assert (config.voice_provider, config.voice_id) == ("11labs", "our-cloned-voice")


def test_the_vapi_json_names_the_credential_or_carries_the_secret(clinic, settings):
    config = build(clinic, TUESDAY_10)
    assert events.render_assistant(config)["server"]["headers"] == {
        "X-Vapi-Secret": settings.VAPI_WEBHOOK_SECRET
    }
    settings.VAPI_SERVER_CREDENTIAL_ID = "cred-123"
    server = events.render_assistant(config)["server"]
    assert server["credentialId"] == "cred-123"
    assert "headers" not in server


# ---------------------------------------------------------------------------------------------
# The cached snapshot


def test_the_snapshot_is_cached_and_dropped_when_its_sources_change(
    clinic, django_capture_on_commit_callbacks
):
    first = snapshot(clinic)
    assert _queries_for_snapshot(clinic) == 0
    assert snapshot(clinic) == first

    changes = [
        lambda: IntentFactory(organisation=clinic.org, name="Parking"),
        lambda: _save(clinic, clinic.settings, greeting="Good day from {clinic}!"),
        lambda: _save(clinic, clinic.location, timezone="Europe/Madrid"),
        lambda: WorkingHours.all_organisations.filter(location=clinic.location).delete(),
        lambda: _save(clinic, clinic.service, name="Dental check-up"),
        lambda: VoiceAgentFactory(name="New catalogue voice"),
    ]
    for change in changes:
        snapshot(clinic)
        with django_capture_on_commit_callbacks(execute=True):
            change()
        assert _queries_for_snapshot(clinic) > 0, change


def _queries_for_snapshot(clinic) -> int:
    """Queries spent building the snapshot (0 when it came from the cache)."""
    with tenant_transaction(clinic.org), CaptureQueriesContext(connection) as queries:
        assistant.snapshot_for(clinic.number)
    return len([q for q in queries.captured_queries if "telephony_" in q["sql"]])


def _save(clinic, obj, **fields):
    for name, value in fields.items():
        setattr(obj, name, value)
    with tenant_transaction(clinic.org):
        obj.save()


def test_one_organisations_changes_leave_anothers_cache_alone(clinic, other_clinic):
    with tenant_transaction(other_clinic.org):
        theirs = assistant.snapshot_for(other_clinic.number)
    _save(clinic, clinic.settings, greeting="Changed")
    assert _queries_for_snapshot(other_clinic) == 0
    with tenant_transaction(other_clinic.org):
        assert assistant.snapshot_for(other_clinic.number) == theirs


def test_blocked_numbers_tolerate_typos(clinic):
    _save(clinic, clinic.settings, blocked_numbers="07911 123456\nnot a number\n+14155550100")
    assert snapshot(clinic).blocked == {"+447911123456", "+14155550100"}


def test_unset_settings_use_the_defaults(clinic):
    AssistantSettings.all_organisations.all().delete()
    WorkingHours.all_organisations.all().delete()
    snap = snapshot(clinic)
    assert snap.after_hours_behaviour == AssistantSettings.AfterHours.TAKE_MESSAGE
    assert not snap.is_open(TUESDAY_10)
    assert snap.hours == ()
    assert "No opening hours are set" in build(clinic, TUESDAY_10).system_prompt
    assert time(9) not in [h[1] for h in snap.hours]
