"""Texts about appointments: confirmations when one is booked, moved or cancelled, and
reminders before it.

Reminders come from a periodic scan of what is due now (never from long Celery countdowns, which
Redis redelivers). An organisation reminds at its offsets (24 h and 2 h before by default); the
reminder for an offset is due from `start - offset` until the next shorter offset takes over, and
is sent once per appointment time (a moved appointment is reminded again). If the customer got a
text about the appointment during that window already (it was booked an hour ago), the reminder
would say nothing new and is skipped.
"""

from datetime import datetime, timedelta

from django.db.models import Q

from calendars.models import Appointment
from organisations.models import Organisation
from organisations.tenancy import current_organisation, tenant_transaction
from telephony import sms
from telephony.models import SmsMessage, TelephonySettings, default_reminder_hours

CHANGES = {"booked", "rescheduled", "cancelled"}
DEFAULT_OFFSETS = [timedelta(hours=h) for h in sorted(default_reminder_hours(), reverse=True)]


def recipient(appointment: Appointment) -> str:
    return appointment.phone or (appointment.customer.phone if appointment.customer else "")


def _text(appointment: Appointment, template_key: str, key: str, **extra) -> SmsMessage | None:
    to = recipient(appointment)
    if not to:
        return None
    organisation = current_organisation()
    location = appointment.location
    body = sms.render(
        template_key,
        appointment.language,
        clinic=organisation.name,
        service=appointment.service.name,
        when=sms.format_when(appointment.start_at, location, appointment.language),
        phone=location.phone or "",
        **extra,
    )
    return sms.queue(
        to,
        body,
        template_key=key,
        language=appointment.language,
        location=location,
        customer=appointment.customer,
        appointment=appointment,
        scheduled_for=appointment.start_at if key.startswith("reminder.") else None,
    )


def confirm(appointment: Appointment, change: str) -> SmsMessage | None:
    """calendars.signals.appointment_changed receiver: text the customer about the change.

    calendars sends the signal after the booking commits, inside a fresh tenant transaction;
    opening the organisation's transaction here again keeps this callable from anywhere.
    """
    if change not in CHANGES:
        return None
    organisation = Organisation.objects.get(pk=appointment.organisation_id)
    with tenant_transaction(organisation):
        if not TelephonySettings.current().sms_confirmations:
            return None
        fresh = (
            Appointment.objects.select_related("location", "service", "customer")
            .filter(pk=appointment.pk)
            .first()
        )
        if fresh is None:
            return None
        key = f"confirmation.{change}"
        return _text(fresh, key, key)


def offsets_for(config: TelephonySettings) -> list[timedelta]:
    return config.reminder_offsets() if config.pk else DEFAULT_OFFSETS


def _windows(offsets: list[timedelta]):
    """(offset, shorter offset) pairs: the reminder for `offset` is due while the appointment
    starts between now + shorter and now + offset."""
    return zip(offsets, [*offsets[1:], timedelta(0)], strict=True)


def _key(offset: timedelta) -> str:
    return f"reminder.{int(offset.total_seconds() // 3600)}h"


def organisations_with_due_reminders(now: datetime) -> set:
    """Platform scan (inside platform_transaction): organisations with a reminder due now."""
    configured = {
        config.organisation_id: config for config in TelephonySettings.all_organisations.all()
    }
    disabled = {org_id for org_id, config in configured.items() if not config.sms_reminders}
    longest = max(
        [
            DEFAULT_OFFSETS[0],
            *(max(offsets_for(c), default=timedelta(0)) for c in configured.values()),
        ]
    )
    upcoming = list(
        Appointment.all_organisations.filter(
            status__in=Appointment.OPEN, start_at__gt=now, start_at__lte=now + longest
        )
        .exclude(organisation_id__in=disabled)
        .values_list("organisation_id", "pk", "start_at")
    )
    sent = set(
        SmsMessage.all_organisations.filter(
            appointment_id__in=[pk for _org, pk, _start in upcoming], scheduled_for__isnull=False
        ).values_list("appointment_id", "template_key", "scheduled_for")
    )
    due = set()
    for organisation_id, pk, start in upcoming:
        config = configured.get(organisation_id)
        offsets = offsets_for(config) if config else DEFAULT_OFFSETS
        for offset, shorter in _windows(offsets):
            if now + shorter < start <= now + offset and (pk, _key(offset), start) not in sent:
                due.add(organisation_id)
    return due


def send_due(now: datetime) -> int:
    """Inside one organisation: queue every reminder due now. Returns how many were queued."""
    config = TelephonySettings.current()
    if not config.sms_reminders:
        return 0
    queued = 0
    for offset, shorter in _windows(offsets_for(config)):
        appointments = (
            Appointment.objects.select_related("location", "service", "customer")
            .filter(
                status__in=Appointment.OPEN,
                start_at__gt=now + shorter,
                start_at__lte=now + offset,
            )
            .exclude(customer__sms_opt_out=True)
        )
        for appointment in appointments:
            if _already_told(appointment, offset):
                continue
            if _text(appointment, "reminder", _key(offset)) is not None:
                queued += 1
    return queued


def _already_told(appointment: Appointment, offset: timedelta) -> bool:
    """This reminder went out already, or the customer heard about this appointment time
    within the reminder's window (a booking made an hour before)."""
    window_start = appointment.start_at - offset
    return SmsMessage.objects.filter(
        Q(template_key=_key(offset), scheduled_for=appointment.start_at)
        | Q(created_at__gte=window_start, template_key__startswith="confirmation.")
        | Q(created_at__gte=window_start, template_key__startswith="reminder."),
        appointment=appointment,
        direction=SmsMessage.Direction.OUTBOUND,
    ).exists()
