from datetime import timedelta

import pytest
from django.utils import timezone

from calendars import booking
from calendars.models import Appointment
from calendars.tests.factories import AppointmentFactory
from organisations.models import Customer
from organisations.tenancy import platform_transaction, tenant_transaction
from telephony import appointment_texts, sms, tasks
from telephony.models import SmsMessage
from telephony.tests import payloads
from telephony.tests.factories import SmsMessageFactory, TelephonySettingsFactory

pytestmark = pytest.mark.django_db


def _start(days=3, hour=10):
    local = timezone.now().astimezone(timezone.get_current_timezone()) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------------------------------------
# Confirmations (calendars.signals.appointment_changed)


def test_booking_moving_and_cancelling_text_the_customer(
    clinic, django_capture_on_commit_callbacks
):
    start = _start().astimezone(clinic.location.zone).replace(hour=10)
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        appointment = booking.book_appointment(
            location=clinic.location,
            service=clinic.service,
            start=start,
            name="Lucía Fernández",
            phone=payloads.CALLER,
            language="es",
        )
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        booking.reschedule_appointment(appointment, start + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        booking.cancel_appointment(Appointment.objects.get(pk=appointment.pk))
    booked, moved, cancelled = (text.body for text in sms.outbox)
    assert booked.startswith("Bright Smile Dental: su cita de Check-up está reservada para el")
    assert "Responda STOP" in booked
    assert "se ha cambiado" in moved
    assert "12:00" in moved
    assert "está cancelada" in cancelled
    keys = list(
        SmsMessage.all_organisations.order_by("created_at").values_list("template_key", flat=True)
    )
    assert keys == ["confirmation.booked", "confirmation.rescheduled", "confirmation.cancelled"]
    assert {m.appointment_id for m in SmsMessage.all_organisations.all()} == {appointment.pk}


def test_confirmations_can_be_switched_off(clinic, django_capture_on_commit_callbacks):
    TelephonySettingsFactory(organisation=clinic.org, sms_confirmations=False)
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        booking.book_appointment(
            location=clinic.location,
            service=clinic.service,
            start=_start().astimezone(clinic.location.zone).replace(hour=11),
            phone=payloads.CALLER,
        )
    assert not sms.outbox
    assert not SmsMessage.all_organisations.exists()


def test_completed_appointments_are_not_texted(clinic):
    appointment = AppointmentFactory(organisation=clinic.org, location=clinic.location)
    assert appointment_texts.confirm(appointment, "completed") is None


# ---------------------------------------------------------------------------------------------
# Reminders: a periodic scan of what is due, once per appointment time and offset


def _appointment(clinic, starts_in: timedelta, **fields):
    start = (timezone.now() + starts_in).replace(second=0, microsecond=0)
    fields = {"phone": payloads.CALLER, **fields}
    return AppointmentFactory(
        organisation=clinic.org,
        location=clinic.location,
        service=clinic.service,
        start_at=start,
        **fields,
    )


def scan(django_capture_on_commit_callbacks, now=None):
    with django_capture_on_commit_callbacks(execute=True):
        if now is None:
            return tasks.send_due_reminders()
        with platform_transaction():
            due = appointment_texts.organisations_with_due_reminders(now)
        return due


def test_reminders_go_out_24h_and_2h_before_and_only_once(
    clinic, django_capture_on_commit_callbacks
):
    tomorrow = _appointment(clinic, timedelta(hours=23))
    soon = _appointment(clinic, timedelta(hours=1, minutes=30))
    later = _appointment(clinic, timedelta(hours=30))
    assert scan(django_capture_on_commit_callbacks) == 1  # one organisation had reminders due
    reminded = dict(SmsMessage.all_organisations.values_list("appointment_id", "template_key"))
    assert reminded == {tomorrow.pk: "reminder.24h", soon.pk: "reminder.2h"}
    assert later.pk not in reminded
    assert "a reminder of your Check-up" in sms.outbox[0].body
    # The next scan finds nothing new to send.
    assert scan(django_capture_on_commit_callbacks) == 0
    assert SmsMessage.all_organisations.count() == 2


def test_a_moved_appointment_is_reminded_again(clinic, django_capture_on_commit_callbacks):
    appointment = _appointment(clinic, timedelta(hours=20))
    scan(django_capture_on_commit_callbacks)
    with tenant_transaction(clinic.org):
        appointment.place(appointment.start_at + timedelta(days=1))
        appointment.save()
    # A day later the moved appointment is inside its own 24 h window again.
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        assert appointment_texts.send_due(timezone.now() + timedelta(days=1)) == 1
    reminders = SmsMessage.all_organisations.filter(template_key="reminder.24h")
    assert sorted(reminders.values_list("scheduled_for", flat=True)) == [
        appointment.start_at - timedelta(days=1),
        appointment.start_at,
    ]


def test_no_reminder_right_after_a_booking_confirmation(clinic, django_capture_on_commit_callbacks):
    appointment = _appointment(clinic, timedelta(hours=5))
    SmsMessageFactory(
        organisation=clinic.org,
        appointment=appointment,
        template_key="confirmation.booked",
        to_number=payloads.CALLER,
    )
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        assert appointment_texts.send_due(timezone.now()) == 0


def test_custom_offsets_and_switching_reminders_off(clinic, django_capture_on_commit_callbacks):
    config = TelephonySettingsFactory(organisation=clinic.org, reminder_hours=[48])
    _appointment(clinic, timedelta(hours=40))
    _appointment(clinic, timedelta(hours=60))
    scan(django_capture_on_commit_callbacks)
    assert list(SmsMessage.all_organisations.values_list("template_key", flat=True)) == [
        "reminder.48h"
    ]
    config.sms_reminders = False
    with tenant_transaction(clinic.org):
        config.save()
    _appointment(clinic, timedelta(hours=47))
    assert scan(django_capture_on_commit_callbacks) == 0


def test_opted_out_cancelled_and_other_organisations_appointments_are_skipped(
    clinic, other_clinic, django_capture_on_commit_callbacks
):
    with tenant_transaction(clinic.org):
        opted_out = Customer.objects.create(phone="+447911123499", sms_opt_out=True)
    _appointment(clinic, timedelta(hours=20), customer=opted_out, phone=opted_out.phone)
    _appointment(clinic, timedelta(hours=20), status=Appointment.Status.CANCELLED)
    theirs = AppointmentFactory(
        organisation=other_clinic.org,
        location=other_clinic.location,
        start_at=timezone.now() + timedelta(hours=20),
    )
    scan(django_capture_on_commit_callbacks)
    sent = SmsMessage.all_organisations.all()
    assert [m.organisation_id for m in sent] == [other_clinic.org.pk]
    assert sent[0].appointment_id == theirs.pk
