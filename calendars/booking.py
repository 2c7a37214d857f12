"""Booking, rescheduling, cancelling and closing appointments.

The assistant's tools, the dashboard and the API all go through these functions; they run in the
current tenant (no organisation argument) and inside the caller's transaction.

Double booking is prevented three times over:

1. the wanted time is checked against local data (the availability engine);
2. connected external calendars are asked again for that time (best effort: a provider outage
   must not stop the phone from booking, so a failure is recorded on the connection and the
   local copy of their busy times is used);
3. the check is repeated and the row inserted in one transaction (a savepoint), and on
   PostgreSQL the `appointment_no_overlap` exclusion constraint refuses an overlapping insert
   that raced past the check; that refusal becomes `SlotUnavailable` like any other.

After the transaction commits, each change is pushed to the location's external calendars
(Celery) and announced with `calendars.signals.appointment_changed`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendars import signals, sync
from calendars.availability import Slot, is_bookable, nearest_free_slots
from calendars.models import Appointment, Service
from calendars.tasks import push_to_calendars
from organisations.models import Customer, Location, Organisation
from organisations.tenancy import tenant_transaction

# What Appointment.place() sets.
TIME_FIELDS = ("start_at", "end_at", "blocked_start", "blocked_end")


class BookingError(Exception):
    """A booking request that cannot be carried out, with a message for people."""


class SlotUnavailable(BookingError):
    """The wanted time is taken or outside bookable time. `alternatives` are the nearest free
    slots (possibly none)."""

    def __init__(self, message: str = "", alternatives: list[Slot] | None = None):
        super().__init__(message or _("That time is not available."))
        self.alternatives = alternatives or []


class InvalidTransition(BookingError):
    """The appointment's status does not allow this change (e.g. completing a cancelled one)."""


def book_appointment(
    *,
    location: Location,
    service: Service,
    start: datetime,
    customer: Customer | None = None,
    name: str = "",
    phone: str = "",
    email: str = "",
    source: str = Appointment.Source.PHONE,
    notes: str = "",
    language: str = "en",
    urgency: str = Appointment.Urgency.NORMAL,
    is_emergency: bool = False,
    idempotency_key: str | None = None,
) -> Appointment:
    """Book `service` at `location` starting at `start` (aware). Returns the confirmed
    appointment; raises SlotUnavailable (with alternatives) when the time cannot be booked.

    A repeated `idempotency_key` returns the appointment the first call made. Without a
    `customer`, a phone number finds or creates the organisation's customer for it.
    """
    if idempotency_key:
        existing = Appointment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    _require_aware(start)
    if customer is None and phone:
        customer = Customer.for_phone(phone, name=name)
    if customer is not None:
        name, phone, email = name or customer.name, phone or customer.phone, email or customer.email
    appointment = Appointment(
        location=location,
        customer=customer,
        name=name,
        phone=phone,
        email=email,
        status=Appointment.Status.CONFIRMED,
        confirmed_at=timezone.now(),
        source=source,
        notes=notes,
        language=language,
        urgency=urgency,
        is_emergency=is_emergency,
        idempotency_key=idempotency_key or "",
    )
    appointment.place(start, service)
    try:
        _claim(appointment, ignore=None, save=appointment.save)
    except IntegrityError:
        if idempotency_key:
            # A concurrent request with the same key won the insert: answer with its row.
            existing = Appointment.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        raise _unavailable(appointment) from None
    _after_commit(appointment, signals.BOOKED)
    return appointment


def reschedule_appointment(
    appointment: Appointment, new_start: datetime, *, idempotency_key: str | None = None
) -> Appointment:
    """Move an open appointment to `new_start` (same service and location). Raises
    SlotUnavailable with alternatives, or InvalidTransition for a closed appointment. A
    repeated `idempotency_key` returns the appointment as the first call left it."""
    _require_aware(new_start)
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if idempotency_key and current.reschedule_key == idempotency_key:
            return current
        if not current.is_open:
            raise InvalidTransition(
                _("A %(status)s appointment cannot be moved.")
                % {"status": current.get_status_display().lower()}
            )
        if current.start_at == new_start:
            return current
        current.place(new_start)
        current.reschedule_key = idempotency_key or ""
        save = _saver(current, *TIME_FIELDS, "reschedule_key")
        try:
            _claim(current, ignore=current, save=save)
        except IntegrityError:
            raise _unavailable(current) from None
    _after_commit(current, signals.RESCHEDULED)
    return current


def cancel_appointment(appointment: Appointment, *, reason: str = "") -> Appointment:
    """Cancel an open appointment, freeing its time. Cancelling twice changes nothing."""

    def cancel(current):
        current.cancelled_at = timezone.now()
        current.cancellation_reason = reason[:300]
        return "cancelled_at", "cancellation_reason"

    return _transition(
        appointment, Appointment.Status.CANCELLED, cancel, allowed_from=Appointment.OPEN
    )


def complete_appointment(appointment: Appointment) -> Appointment:
    """Record that the appointment took place (also corrects a no-show)."""

    def complete(current):
        current.completed_at = timezone.now()
        return ("completed_at",)

    return _transition(
        appointment,
        Appointment.Status.COMPLETED,
        complete,
        allowed_from=(*Appointment.OPEN, Appointment.Status.NO_SHOW),
        started=True,
    )


def mark_no_show(appointment: Appointment) -> Appointment:
    """Record that the customer did not come (also corrects a completion)."""

    def no_show(current):
        current.completed_at = None
        return ("completed_at",)

    return _transition(
        appointment,
        Appointment.Status.NO_SHOW,
        no_show,
        allowed_from=(*Appointment.OPEN, Appointment.Status.COMPLETED),
        started=True,
    )


def record_external_booking(appointment: Appointment) -> Appointment:
    """Save an appointment booked in an external calendar (Cal.com), without our opening-hours
    rules: the booking already exists there. Only an overlap refuses it (SlotUnavailable)."""
    _save_unless_overlapping(appointment, appointment.save)
    _after_commit(appointment, signals.BOOKED)
    return appointment


def move_external_booking(
    appointment: Appointment, new_start: datetime, new_end: datetime | None = None
) -> Appointment:
    """Follow a reschedule made in an external calendar (same rules as record_external_booking)."""
    appointment.place(new_start, end=new_end)
    _save_unless_overlapping(appointment, _saver(appointment, *TIME_FIELDS))
    _after_commit(appointment, signals.RESCHEDULED)
    return appointment


# ---------------------------------------------------------------------------------------------


def _require_aware(start: datetime) -> None:
    if timezone.is_naive(start):
        raise ValueError("Appointment times must be timezone-aware")


def _saver(appointment: Appointment, *fields: str):
    return lambda: appointment.save(update_fields=[*fields, "updated_at"])


def _claim(appointment: Appointment, *, ignore: Appointment | None, save) -> None:
    """Check the appointment's time and save it in one savepoint (see the module docstring)."""
    location, service, start = appointment.location, appointment.service, appointment.start_at
    if not is_bookable(location, service, start, ignore=ignore):
        raise _unavailable(appointment)
    sync.recheck_busy(location, appointment.blocked_start, appointment.blocked_end)
    with transaction.atomic():
        if not is_bookable(location, service, start, ignore=ignore):
            raise _unavailable(appointment)
        save()


def _save_unless_overlapping(appointment: Appointment, save) -> None:
    """Save an appointment made elsewhere unless it overlaps one of ours."""
    overlapping = (
        Appointment.objects.filter(
            location=appointment.location,
            status__in=Appointment.HOLDS_TIME,
            blocked_start__lt=appointment.blocked_end,
            blocked_end__gt=appointment.blocked_start,
        )
        .exclude(pk=appointment.pk)
        .exists()
    )
    if overlapping:
        raise _unavailable(appointment)
    try:
        with transaction.atomic():
            save()
    except IntegrityError:  # an insert racing this one (PostgreSQL's exclusion constraint)
        raise _unavailable(appointment) from None


def _unavailable(appointment: Appointment) -> SlotUnavailable:
    alternatives = nearest_free_slots(
        appointment.location, appointment.service, appointment.start_at
    )
    return SlotUnavailable(alternatives=alternatives)


# The signal sent after each status a transition leads to.
_CHANGE_FOR_STATUS = {
    Appointment.Status.CANCELLED: signals.CANCELLED,
    Appointment.Status.COMPLETED: signals.COMPLETED,
    Appointment.Status.NO_SHOW: signals.NO_SHOW,
}


def _transition(appointment, status, apply, *, allowed_from, started=False) -> Appointment:
    """Move the appointment to `status` under a row lock; already there changes nothing."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status == status:
            return current
        if current.status not in allowed_from:
            raise InvalidTransition(
                _("This appointment is %(status)s.")
                % {"status": current.get_status_display().lower()}
            )
        if started and current.start_at > timezone.now():
            raise InvalidTransition(_("This appointment has not started yet."))
        current.status = status
        fields = apply(current)
        current.save(update_fields=["status", *fields, "updated_at"])
    _after_commit(current, _CHANGE_FOR_STATUS[status])
    return current


def _after_commit(appointment: Appointment, change: str) -> None:
    if change in (signals.BOOKED, signals.RESCHEDULED, signals.CANCELLED):
        push_to_calendars(appointment)
    organisation_id = appointment.organisation_id

    def announce():
        with tenant_transaction(Organisation.objects.get(pk=organisation_id)):
            signals.appointment_changed.send(
                sender=Appointment, appointment=appointment, change=change
            )

    transaction.on_commit(announce, robust=True)
