import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from billing.tests.factories import PlanFactory, SubscriptionFactory
from calendars.tests.factories import AppointmentFactory
from organisations.models import AuditEvent
from organisations.tenancy import tenant_transaction
from telephony.models import (
    AssistantSettings,
    Call,
    EmergencyContact,
    Intent,
    PhoneNumber,
    TelephonySettings,
)
from telephony.tests.factories import (
    CallAppointmentFactory,
    CallFactory,
    CallTransferFactory,
    EmergencyContactFactory,
    IntentFactory,
    TelephonySettingsFactory,
    TranscriptLineFactory,
)

pytestmark = pytest.mark.django_db

PAGES = [
    "telephony:calls",
    "telephony:phone_numbers",
    "telephony:phone_number_create",
    "telephony:telephony_settings",
    "telephony:assistant",
    "telephony:assistant_preview",
    "telephony:voice_create",
    "telephony:intents",
    "telephony:intent_create",
    "telephony:emergency_contacts",
    "telephony:emergency_contact_create",
]


@pytest.mark.parametrize("name", PAGES)
def test_owner_sees_every_page(client_for, owner, clinic, name):
    response = client_for(owner).get(reverse(name))
    assert response.status_code == 200
    assert b"Bright Smile Dental" in response.content


@pytest.mark.parametrize(
    "name",
    ["telephony:calls", "telephony:phone_numbers", "telephony:assistant", "telephony:intents"],
)
def test_viewers_read_but_cannot_change(client_for, viewer, clinic, name):
    assert client_for(viewer).get(reverse(name)).status_code == 200
    assert client_for(viewer).get(reverse("telephony:intent_create")).status_code == 403


def test_the_menu_lists_calls_and_the_settings_pages(client_for, owner, clinic):
    content = client_for(owner).get(reverse("organisations:home")).content.decode()
    for label in ["Calls", "Phone numbers", "Assistant", "Intents", "Emergency rota"]:
        assert f">{label}</a>" in content


# ---------------------------------------------------------------------------------------------
# Calls


def _call(clinic, **fields):
    return CallFactory(organisation=clinic.org, location=clinic.location, **fields)


def test_calls_filter_by_outcome_emergency_number_name_and_dates(client_for, staff, clinic):
    booked = _call(clinic, outcome="booked", summary="Booked-call")
    _call(clinic, outcome="message", summary="Message-call", is_emergency=True)
    old = _call(clinic, summary="Old-call", created_at=datetime(2026, 1, 5, 10, tzinfo=UTC))
    client = client_for(staff)

    def shown(**query):
        content = client.get(reverse("telephony:calls"), query).content.decode()
        return {s for s in ("Booked-call", "Message-call", "Old-call") if s in content}

    assert shown() == {"Booked-call", "Message-call", "Old-call"}
    assert shown(outcome="booked") == {"Booked-call"}
    assert shown(emergency="on") == {"Message-call"}
    assert shown(q=booked.from_number[-6:]) == {"Booked-call"}
    assert shown(date_from="2026-01-01", date_to="2026-01-31") == {"Old-call"}
    assert shown(date_from="not-a-date") == {"Booked-call", "Message-call", "Old-call"}
    assert old.pk


def test_calls_paginate(client_for, staff, clinic):
    for n in range(30):
        _call(clinic, summary=f"Call number {n:02d}.")
    first = client_for(staff).get(reverse("telephony:calls")).content.decode()
    second = client_for(staff).get(reverse("telephony:calls"), {"page": 2}).content.decode()
    assert "Page 1 of 2" in first
    assert first.count("Call number") == 25
    assert second.count("Call number") == 5


def test_call_detail_shows_the_whole_story(client_for, viewer, clinic):
    call = _call(
        clinic,
        recording_url="https://storage.vapi.ai/recordings/abc.wav",
        tools_used=[{"name": "book_appointment", "id": "t1", "ok": True, "result": "Booked!"}],
    )
    TranscriptLineFactory(organisation=clinic.org, call=call, position=0, text="Hello caller")
    CallTransferFactory(organisation=clinic.org, call=call, reason="Wants a person")
    appointment = AppointmentFactory(
        organisation=clinic.org,
        location=clinic.location,
        service=clinic.service,
        start_at=datetime.now(UTC) + timedelta(days=2),
    )
    CallAppointmentFactory(organisation=clinic.org, call=call, appointment=appointment)
    content = client_for(viewer).get(reverse("telephony:call", args=[call.pk])).content.decode()
    for expected in [
        call.summary,
        "Hello caller",
        "Wants a person",
        "book_appointment",
        "Booked!",
        'src="https://storage.vapi.ai/recordings/abc.wav"',
        "Check-up",
    ]:
        assert expected in content, expected


def test_the_calls_page_does_not_run_more_queries_with_more_calls(
    client_for, staff, clinic, django_assert_max_num_queries
):
    client = client_for(staff)
    for _ in range(3):
        _call(clinic)
    client.get(reverse("telephony:calls"))
    with django_assert_max_num_queries(20) as captured:
        client.get(reverse("telephony:calls"))
    few = len(captured)
    for _ in range(20):
        _call(clinic)
    with django_assert_max_num_queries(few):
        client.get(reverse("telephony:calls"))


# ---------------------------------------------------------------------------------------------
# Settings pages


def _room_for_numbers(clinic):
    SubscriptionFactory(organisation=clinic.org, plan=PlanFactory(phone_numbers=5))


def test_adding_a_number(client_for, admin_user, clinic):
    _room_for_numbers(clinic)
    response = client_for(admin_user).post(
        reverse("telephony:phone_number_create"),
        {
            "number": "020 7946 0300",
            "label": "after-hours",
            "location": clinic.location.pk,
            "active": "on",
            "provider": "vapi",
            "voice_enabled": "on",
            "sms_enabled": "on",
        },
    )
    assert response.status_code == 302
    added = PhoneNumber.all_organisations.get(label="after-hours")
    assert added.number == "+442079460300"
    assert added.organisation == clinic.org
    assert AuditEvent.all_organisations.filter(action="phone_number.created").exists()


def test_a_number_active_elsewhere_cannot_be_added(client_for, admin_user, clinic, other_clinic):
    _room_for_numbers(clinic)
    response = client_for(admin_user).post(
        reverse("telephony:phone_number_create"),
        {"number": other_clinic.number.number, "label": "main", "active": "on", "provider": "vapi"},
    )
    assert response.status_code == 200
    assert "already connected to Frontdesk" in response.content.decode()
    assert PhoneNumber.all_organisations.filter(number=other_clinic.number.number).count() == 1


def test_the_plan_limits_numbers(client_for, admin_user, clinic):
    response = client_for(admin_user).post(
        reverse("telephony:phone_number_create"),
        {"number": "020 7946 0300", "label": "more", "active": "on", "provider": "vapi"},
        follow=True,
    )
    assert "includes 1 phone number" in response.content.decode()
    assert PhoneNumber.all_organisations.filter(organisation=clinic.org).count() == 1


def test_making_a_number_primary_unsets_the_other(client_for, admin_user, clinic):
    _room_for_numbers(clinic)
    client_for(admin_user).post(
        reverse("telephony:phone_number_create"),
        {
            "number": "02079460300",
            "label": "new",
            "is_primary": "on",
            "active": "on",
            "provider": "vapi",
        },
    )
    primary = PhoneNumber.all_organisations.filter(organisation=clinic.org, is_primary=True)
    assert list(primary.values_list("label", flat=True)) == ["new"]


def test_the_twilio_token_is_never_shown_and_blank_keeps_it(client_for, owner, clinic):
    TelephonySettingsFactory(
        organisation=clinic.org,
        twilio_account_sid="AC" + "8" * 32,
        twilio_auth_token="supersecret-token-1234",
    )
    client = client_for(owner)
    for page in ("telephony:telephony_settings", "telephony:phone_numbers"):
        assert b"supersecret-token" not in client.get(reverse(page)).content
    assert "••••••••1234" in client.get(reverse("telephony:phone_numbers")).content.decode()
    response = client.post(
        reverse("telephony:telephony_settings"),
        {
            "twilio_account_sid": "AC" + "8" * 32,
            "twilio_auth_token": "",
            "sms_confirmations": "on",
            "reminder_hours": "48, 3",
        },
    )
    assert response.status_code == 302
    config = TelephonySettings.all_organisations.get()
    assert config.twilio_auth_token == "supersecret-token-1234"
    assert config.reminder_hours == [48, 3]
    assert not config.sms_reminders
    event = AuditEvent.all_organisations.get(action="telephony_settings.updated")
    assert "supersecret" not in json.dumps(event.after)


def test_assistant_settings_are_edited_per_location(client_for, admin_user, clinic):
    url = reverse("telephony:assistant_edit", args=[clinic.location.pk])
    data = {
        "greeting": "Hi from {clinic}",
        "after_hours_greeting": "We're closed",
        "after_hours_behaviour": "emergencies_only",
        "languages": ["en", "ru"],
        "transfer_number": "020 7946 0150",
        "transfer_mode": "cold",
        "max_transfer_wait": "20",
        "emergency_keywords": "bleeding",
        "max_call_duration": "600",
        "blocked_numbers": "not a phone",
    }
    response = client_for(admin_user).post(url, data)
    assert "Not phone numbers: not a phone" in response.content.decode()
    data["blocked_numbers"] = "07911 123456"
    assert client_for(admin_user).post(url, data).status_code == 302
    saved = AssistantSettings.all_organisations.get()
    assert saved.languages == ["en", "ru"]
    assert saved.blocked_numbers == "+447911123456"
    assert saved.transfer_mode == "cold"


def test_intents_store_an_answer_per_language(client_for, admin_user, clinic):
    response = client_for(admin_user).post(
        reverse("telephony:intent_create"),
        {
            "name": "Parking",
            "phrases": "Where do I park?",
            "action": "answer",
            "active": "on",
            "order": "10",
            "answer_en": "Behind the building.",
            "answer_es": "Detrás del edificio.",
            "answer_ru": "",
        },
    )
    assert response.status_code == 302
    intent = Intent.all_organisations.get()
    assert intent.answers == {"en": "Behind the building.", "es": "Detrás del edificio."}
    edit = client_for(admin_user).get(reverse("telephony:intent_edit", args=[intent.pk]))
    assert "Detrás del edificio." in edit.content.decode()


def test_rota_contacts_need_both_times_or_neither(client_for, admin_user, clinic):
    data = {
        "name": "Dr Night",
        "phone": "07911 123777",
        "priority": "1",
        "active": "on",
        "available_days": ["0", "1"],
        "available_from": "20:00",
        "escalation_minutes": "5",
        "sms_enabled": "on",
    }
    response = client_for(admin_user).post(reverse("telephony:emergency_contact_create"), data)
    assert "Give both times" in response.content.decode()
    data["available_until"] = "06:00"
    client_for(admin_user).post(reverse("telephony:emergency_contact_create"), data)
    contact = EmergencyContact.all_organisations.get()
    assert contact.available_days == [0, 1]
    assert contact.phone == "+447911123777"


def test_deleting_settings_rows(client_for, admin_user, clinic):
    intent = IntentFactory(organisation=clinic.org)
    contact = EmergencyContactFactory(organisation=clinic.org)
    client = client_for(admin_user)
    client.post(reverse("telephony:intent_delete", args=[intent.pk]))
    client.post(reverse("telephony:emergency_contact_delete", args=[contact.pk]))
    client.post(reverse("telephony:phone_number_delete", args=[clinic.number.pk]))
    assert not Intent.all_organisations.exists()
    assert not EmergencyContact.all_organisations.exists()
    assert not PhoneNumber.all_organisations.exists()


# ---------------------------------------------------------------------------------------------
# Preview


def test_the_preview_shows_the_exact_json_with_the_secret_masked(
    client_for, admin_user, clinic, settings
):
    response = client_for(admin_user).get(
        reverse("telephony:assistant_preview"), {"number": clinic.number.pk}
    )
    content = response.content.decode()
    assert "&quot;assistant&quot;" in content
    assert "check_availability" in content
    assert str(clinic.number.pk) in content
    assert settings.VAPI_WEBHOOK_SECRET not in content
    assert "X-Vapi-Secret" in content


def test_the_preview_of_another_organisations_number_is_404(
    client_for, admin_user, clinic, other_clinic
):
    response = client_for(admin_user).get(
        reverse("telephony:assistant_preview"), {"number": other_clinic.number.pk}
    )
    assert response.status_code == 404


def test_the_preview_without_numbers(client_for, admin_user, org):
    response = client_for(admin_user).get(reverse("telephony:assistant_preview"))
    assert "No active number" in response.content.decode()


def test_call_rows_saved_in_views_stay_in_the_organisation(client_for, staff, clinic):
    call = _call(clinic)
    with tenant_transaction(clinic.org):
        assert Call.objects.filter(pk=call.pk).exists()
