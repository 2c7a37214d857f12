from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calendars import booking
from calendars.models import Appointment, Closure
from calendars.tests.factories import AppointmentFactory, ServiceFactory
from organisations.models import Customer, Notification
from organisations.tenancy import tenant, tenant_transaction
from telephony import assistant, sms, tools
from telephony.dates import spoken_day
from telephony.models import AssistantSettings, Call, CallTransfer, EmergencyNotification
from telephony.tests import payloads
from telephony.tests.factories import EmergencyContactFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
# A Tuesday at least two weeks ahead (booking checks notice against the real clock), 08:00 in
# London: the clinic opens at 9. Expectations are computed in local time, whatever the season.
_soon = timezone.now().date() + timedelta(days=14)
TUE = _soon + timedelta(days=(1 - _soon.weekday()) % 7)
WED, THU, FRI = (TUE + timedelta(days=n) for n in (1, 2, 3))


def at(day: date, hour: int, minute: int = 0, zone=LONDON) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def named(day: date) -> str:
    return spoken_day(at(day, 12))


MORNING = at(TUE, 8)


def run(clinic, name, arguments, *, now=MORNING, call=None, tool_call_id="tool-1"):
    """Run one tool as the tool-calls webhook does; returns (result, error, call)."""
    with tenant_transaction(clinic.org):
        if call is None:
            call = assistant.open_call(
                clinic.number,
                provider=Call.Provider.VAPI,
                provider_call_id="call-under-test",
                caller=payloads.CALLER,
            )
        call = Call.objects.select_related("customer", "location").get(pk=call.pk)
        context = tools.ToolContext(
            call=call,
            location=clinic.location,
            snapshot=assistant.snapshot_for(clinic.number),
            now=now,
        )
        result, error = tools.run(context, tool_call_id, name, arguments)
        if context.changed:
            call.save(update_fields=[*context.changed, "updated_at"])
    return result, error, call


def appointments(clinic):
    with tenant(clinic.org):
        return list(Appointment.objects.order_by("start_at"))


# ---------------------------------------------------------------------------------------------
# Dates in the location's time zone


def test_tomorrow_late_at_night_is_the_local_tomorrow(clinic):
    clinic.location.timezone = "America/Los_Angeles"
    with tenant_transaction(clinic.org):
        clinic.location.save()
    # 23:30 on Tuesday in Los Angeles is already Wednesday in UTC: "tomorrow" is Wednesday.
    late = at(TUE, 23, 30, ZoneInfo("America/Los_Angeles"))
    assert late.astimezone(UTC).date() == WED
    result, error, _call = run(clinic, "check_availability", {"date": "tomorrow"}, now=late)
    assert not error
    assert result.startswith(f"{named(WED)} at 9:00")


@pytest.mark.parametrize(
    ("words", "days_ahead"),
    [
        (FRI.isoformat(), 3),
        ("today", 0),
        ("mañana", 1),
        ("next monday", 6),
        ("el viernes", 3),
        ("в четверг", 2),
    ],
)
def test_dates_as_callers_say_them(clinic, words, days_ahead):
    result, error, _call = run(clinic, "check_availability", {"date": words})
    assert not error
    assert result.startswith(named(TUE + timedelta(days=days_ahead)))


def test_dates_in_the_past_and_nonsense_are_tool_errors(clinic):
    past = (TUE - timedelta(days=3)).isoformat()
    assert "already passed" in run(clinic, "check_availability", {"date": past})[1]
    assert "not a date" in run(clinic, "check_availability", {"date": "whenever"})[1]
    assert "Ask the caller for date" in run(clinic, "check_availability", {})[1]


# ---------------------------------------------------------------------------------------------
# check_availability


def test_availability_lists_free_times_in_local_time(clinic):
    result, _error, _call = run(
        clinic, "check_availability", {"date": TUE.isoformat(), "time_of_day": "afternoon"}
    )
    times = "12:00, 12:15, 12:30, 12:45, 13:00 or 13:15"
    assert result == f"{named(TUE)} at {times} are free for Check-up."


def test_a_full_day_offers_the_nearest_free_times(clinic):
    with tenant_transaction(clinic.org):
        Closure.objects.create(location=clinic.location, start_date=THU, end_date=THU)
    result, _error, _call = run(clinic, "check_availability", {"date": THU.isoformat()})
    assert result.startswith(f"Nothing is free for Check-up on {named(THU)}.")
    assert "The nearest free times are" in result


def test_the_service_must_be_one_of_the_clinics(clinic):
    ServiceFactory(organisation=clinic.org, name="Whitening")
    error = run(clinic, "check_availability", {"date": WED.isoformat()})[1]
    assert error == "Ask which service the caller wants: Check-up or Whitening."
    error = run(clinic, "check_availability", {"date": WED.isoformat(), "service": "Botox"})[1]
    assert "There is no service called Botox" in error
    result = run(clinic, "check_availability", {"date": WED.isoformat(), "service": "whitening"})[0]
    assert result.endswith("free for Whitening.")


# ---------------------------------------------------------------------------------------------
# Booking, moving, cancelling


def test_booking_books_once_per_tool_call(clinic):
    arguments = {"date": WED.isoformat(), "time": "10:30", "name": "Jane Doe", "notes": "Toothache"}
    result, error, call = run(clinic, "book_appointment", arguments)
    assert (result, error) == (f"Booked: Check-up on {named(WED)} at 10:30 for Jane Doe.", "")
    again, _error, _call = run(clinic, "book_appointment", arguments, call=call)
    assert again == result
    (appointment,) = appointments(clinic)
    assert appointment.start_at == at(WED, 10, 30)
    assert appointment.customer.phone == payloads.CALLER
    assert appointment.customer.name == "Jane Doe"
    assert appointment.notes == "Toothache"
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.BOOKED
    assert call.customer == appointment.customer


def test_a_taken_slot_answers_with_the_nearest_alternatives(clinic):
    with tenant_transaction(clinic.org):
        booking.book_appointment(
            location=clinic.location,
            service=clinic.service,
            start=at(WED, 10, 30),
            name="Somebody Else",
            phone="+447911123400",
        )
    result, error, _call = run(
        clinic, "book_appointment", {"date": WED.isoformat(), "time": "10:30", "name": "Jane Doe"}
    )
    assert not error
    assert result.startswith(f"Sorry, {named(WED)} at 10:30 is no longer free.")
    assert "10:00" in result
    assert "11:00" in result
    assert len(appointments(clinic)) == 1


def test_no_booking_while_closed_unless_the_settings_allow_it(clinic):
    clinic.settings.after_hours_behaviour = AssistantSettings.AfterHours.TAKE_MESSAGE
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    night = at(TUE, 22)
    arguments = {"date": WED.isoformat(), "time": "10:30", "name": "Jane Doe"}
    error = run(clinic, "book_appointment", arguments, now=night)[1]
    assert "does not book while it is closed" in error
    assert not appointments(clinic)
    assert run(clinic, "book_appointment", arguments, now=MORNING + timedelta(hours=3))[0]


def test_booking_needs_a_name_and_a_future_time(clinic):
    assert "name" in run(clinic, "book_appointment", {"date": WED.isoformat(), "time": "10:30"})[1]
    error = run(
        clinic, "book_appointment", {"date": TUE.isoformat(), "time": "07:00", "name": "Jane"}
    )[1]
    assert "already passed" in error
    error = run(
        clinic, "book_appointment", {"date": WED.isoformat(), "time": "25:99", "name": "J"}
    )[1]
    assert "not a time" in error


def _booked(clinic, start, **fields):
    return AppointmentFactory(
        organisation=clinic.org,
        location=clinic.location,
        service=clinic.service,
        phone=payloads.CALLER,
        start_at=start,
        **fields,
    )


def test_reschedule_moves_the_callers_appointment(clinic):
    _booked(clinic, at(WED, 10))
    result, error, call = run(
        clinic, "reschedule_appointment", {"new_date": FRI.isoformat(), "new_time": "14:00"}
    )
    assert result == f"Moved Check-up on {named(WED)} at 10:00 to {named(FRI)} at 14:00.", error
    (moved,) = appointments(clinic)
    assert moved.start_at == at(FRI, 14)
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.RESCHEDULED


def test_several_appointments_need_the_caller_to_say_which(clinic):
    later = WED + timedelta(days=7)
    _booked(clinic, at(WED, 10))
    _booked(clinic, at(later, 10))
    error = run(clinic, "cancel_appointment", {})[1]
    assert "several upcoming appointments" in error
    result = run(clinic, "cancel_appointment", {"date": later.isoformat(), "reason": "Holiday"})[0]
    assert result == f"Cancelled Check-up on {named(later)} at 10:00."
    statuses = [a.status for a in appointments(clinic)]
    assert statuses == [Appointment.Status.CONFIRMED, Appointment.Status.CANCELLED]


def test_nothing_to_cancel_is_a_tool_error(clinic):
    assert "cannot find an upcoming appointment" in run(clinic, "cancel_appointment", {})[1]


def test_find_customer(clinic):
    assert "new patient" in run(clinic, "find_customer", {})[0]
    _booked(clinic, at(WED, 10))
    with tenant_transaction(clinic.org):
        Customer.objects.filter(phone=payloads.CALLER).update(
            name="Jane Doe", preferred_language="es"
        )
    result = run(clinic, "find_customer", {})[0]
    assert result == (
        f"Jane Doe, a returning patient (prefers Español). Upcoming: Check-up on {named(WED)} "
        "at 10:00."
    )


# ---------------------------------------------------------------------------------------------
# Messages, transfers, emergencies


def test_take_message_notifies_staff_in_app_and_by_text(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result, _error, call = run(
            clinic,
            "take_message",
            {"message": "Please call about my bill", "name": "Jane Doe", "urgency": "high"},
        )
    assert result == f"Message taken; the team will call back on {payloads.CALLER}."
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.MESSAGE
    assert "Please call about my bill" in call.caller_message
    notice = Notification.all_organisations.get(organisation=clinic.org)
    assert notice.title == "Message from Jane Doe"
    assert notice.level == Notification.Level.WARNING
    assert notice.link == f"/calls/{call.pk}/"
    (text,) = sms.outbox
    assert text.to == "+447911123555"
    assert "Please call about my bill" in text.body


def test_transfer_call_records_the_transfer_and_texts_the_on_call_person(
    clinic, django_capture_on_commit_callbacks
):
    contact = EmergencyContactFactory(organisation=clinic.org, phone="+447911123777", priority=1)
    night = at(TUE, 22)
    with django_capture_on_commit_callbacks(execute=True):
        result, _error, _call = run(
            clinic,
            "transfer_call",
            {"reason": "Wants the dentist", "summary": "Pain after extraction"},
            now=night,
        )
    assert result.startswith(f"Transfer to {contact} is ready")
    transfer = CallTransfer.all_organisations.get()
    assert (transfer.destination, transfer.contact, transfer.tool_call_id) == (
        contact.phone,
        contact,
        "tool-1",
    )
    (text,) = sms.outbox
    assert text.to == contact.phone
    assert "Pain after extraction" in text.body


def test_transfer_with_nobody_reachable_suggests_a_message(clinic):
    clinic.settings.transfer_number = ""
    with tenant_transaction(clinic.org):
        clinic.settings.save()
    result = run(clinic, "transfer_call", {"reason": "Billing"})[0]
    assert "Nobody can take the call right now" in result
    assert not CallTransfer.all_organisations.exists()


def test_flag_emergency_alerts_the_first_person_on_call(clinic, django_capture_on_commit_callbacks):
    first = EmergencyContactFactory(organisation=clinic.org, name="Dr Patel", priority=1)
    EmergencyContactFactory(organisation=clinic.org, name="Dr Jones", priority=2)
    with django_capture_on_commit_callbacks(execute=True):
        result, _error, call = run(
            clinic,
            "flag_emergency",
            {"description": "Heavy bleeding after an extraction", "urgency_score": 0.9},
        )
    assert result.startswith("Dr Patel (On-call dentist) has been alerted.")
    assert "call 999" in result
    call.refresh_from_db()
    assert (call.is_emergency, float(call.urgency_score), call.outcome) == (True, 0.9, "emergency")
    alert = EmergencyNotification.all_organisations.get()
    assert alert.contact == first
    assert alert.status == EmergencyNotification.Status.SENT
    assert alert.escalate_at - alert.created_at == timedelta(minutes=5)
    (text,) = sms.outbox
    assert text.to == first.phone
    assert text.body.startswith("EMERGENCY Bright Smile Dental Camden: Heavy bleeding")
    # Reported again in the same call: no second alert.
    run(clinic, "flag_emergency", {"description": "Still bleeding"}, call=call, tool_call_id="t2")
    assert EmergencyNotification.all_organisations.count() == 1


def test_flag_emergency_with_an_empty_rota_tells_staff(clinic):
    result = run(clinic, "flag_emergency", {"description": "Swollen face"})[0]
    assert result.startswith("Nobody on call could be alerted")
    titles = set(Notification.all_organisations.values_list("title", flat=True))
    assert titles == {"Emergency call", "Nobody is on call for an emergency"}


def test_an_unexpected_failure_is_a_generic_error_and_rolls_back(clinic, monkeypatch):
    def broken(*args, **kwargs):
        Customer.objects.create(phone="+447911123401")
        raise RuntimeError("boom")

    monkeypatch.setattr(booking, "book_appointment", broken)
    error = run(
        clinic, "book_appointment", {"date": WED.isoformat(), "time": "10:30", "name": "Jane"}
    )[1]
    assert error == "Something went wrong on our side. Apologise and offer to take a message."
    assert not Customer.all_organisations.filter(phone="+447911123401").exists()
