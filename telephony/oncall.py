"""Who is on call, handing calls to people, and emergency alerts with escalation.

The rota is `EmergencyContact` by priority, filtered by who is available at this moment in the
location's time zone. An emergency alerts the first available contact by text; if nobody
acknowledges within that contact's escalation time, the periodic escalation scan alerts the next
one, until someone acknowledges (by replying OK or with the dashboard button) or the rota runs
out, which is reported to the clinic's staff.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from organisations.models import Location, Notification
from organisations.tenancy import current_organisation
from telephony import sms
from telephony.models import Call, CallTransfer, EmergencyContact, EmergencyNotification

# Replies that acknowledge an alert (any language we text in).
ACKNOWLEDGE_WORDS = {"OK", "OKAY", "ACK", "YES", "Y", "1", "SI", "SÍ", "ДА", "ОК"}  # noqa: RUF001
ACKNOWLEDGE_WINDOW = timedelta(hours=12)


def rota(location: Location, moment: datetime | None = None) -> list[EmergencyContact]:
    """Contacts on call at `location` now (or at `moment`), first to ask first."""
    local = timezone.localtime(moment or timezone.now(), location.zone)
    contacts = EmergencyContact.objects.filter(active=True).filter(
        Q(location=location) | Q(location__isnull=True)
    )
    return [
        contact for contact in contacts.order_by("priority", "name") if contact.is_available(local)
    ]


@dataclass(frozen=True)
class Destination:
    number: str
    label: str
    contact: EmergencyContact | None = None


def transfer_destination(
    location: Location, *, transfer_number: str, urgent: bool, is_open: bool
) -> Destination | None:
    """Where a transfer goes now. While the clinic is open an ordinary transfer rings the front
    desk first; emergencies and out-of-hours transfers go to the on-call rota first."""
    desk = [Destination(transfer_number, "front desk")] if transfer_number else []
    on_call = [
        Destination(contact.phone, str(contact), contact)
        for contact in rota(location)
        if contact.call_enabled
    ]
    ordered = on_call + desk if urgent or not is_open else desk + on_call
    return ordered[0] if ordered else None


def start_transfer(
    call: Call,
    location: Location,
    *,
    transfer_number: str,
    mode: str,
    is_open: bool,
    reason: str = "",
    urgency: str = CallTransfer.Urgency.NORMAL,
    summary: str = "",
    customer_name: str = "",
    tool_call_id: str = "",
) -> CallTransfer | None:
    """Choose a destination and record the transfer (once per tool call); the person called
    gets a text with the summary. None when nobody can take the call."""
    if tool_call_id:
        existing = CallTransfer.objects.filter(call=call, tool_call_id=tool_call_id).first()
        if existing is not None:
            return existing
    urgent = urgency in (CallTransfer.Urgency.HIGH, CallTransfer.Urgency.EMERGENCY)
    destination = transfer_destination(
        location, transfer_number=transfer_number, urgent=urgent, is_open=is_open
    )
    if destination is None:
        return None
    transfer = CallTransfer.objects.create(
        call=call,
        contact=destination.contact,
        reason=reason[:255],
        urgency=urgency,
        summary=summary,
        customer_name=customer_name[:200],
        destination=destination.number,
        destination_label=destination.label[:200],
        mode=mode,
        tool_call_id=tool_call_id,
    )
    if destination.contact is not None and destination.contact.sms_enabled:
        organisation = current_organisation()
        sms.queue(
            destination.number,
            sms.render(
                "transfer_alert",
                organisation.default_language,
                clinic=organisation.name,
                phone=call.customer_phone or call.from_number or "unknown",
                summary=summary or reason or "no summary",
            ),
            template_key="transfer_alert",
            language=organisation.default_language,
            location=location,
            call=call,
        )
    return transfer


# ---------------------------------------------------------------------------------------------
# Emergencies


def raise_emergency(
    call: Call, location: Location, *, summary: str
) -> EmergencyNotification | None:
    """Alert the first contact on call about an emergency on `call` (once per call: a second
    report of the same emergency keeps the running escalation)."""
    running = EmergencyNotification.objects.filter(call=call).order_by("created_at").first()
    if running is not None:
        return running
    link = reverse("telephony:call", args=[call.pk])
    contacts = [contact for contact in rota(location) if contact.sms_enabled]
    Notification.notify(
        "Emergency call",
        body=f"{call.customer_phone or call.from_number}: {summary}",
        level=Notification.Level.ERROR,
        link=link,
    )
    if not contacts:
        Notification.notify(
            "Nobody is on call for an emergency",
            body=f"Call {call.customer_phone or call.from_number} back: {summary}",
            level=Notification.Level.ERROR,
            link=link,
        )
        return None
    return _alert(contacts[0], incident=uuid.uuid4(), call=call, location=location, summary=summary)


def _alert(contact, *, incident, call, location, summary) -> EmergencyNotification:
    organisation = current_organisation()
    language = organisation.default_language
    text = sms.render(
        "emergency_alert",
        language,
        clinic=organisation.name,
        location=location.name,
        summary=summary.rstrip(".") + ".",
        phone=(call.customer_phone or call.from_number) if call else "unknown",
    )
    message = sms.queue(
        contact.phone,
        text,
        template_key="emergency_alert",
        language=language,
        location=location,
        call=call,
    )
    failed = message.status == message.Status.FAILED
    now = timezone.now()
    return EmergencyNotification.objects.create(
        incident=incident,
        contact=contact,
        call=call,
        location=location,
        sms=message,
        message=summary,
        status=EmergencyNotification.Status.FAILED
        if failed
        else EmergencyNotification.Status.PENDING,
        escalate_at=now if failed else now + timedelta(minutes=contact.escalation_minutes),
        created_at=now,
    )


def escalate(notification_id) -> EmergencyNotification | None:
    """The alert was not acknowledged in time: alert the next contact on call (once)."""
    alert = (
        EmergencyNotification.objects.select_for_update(of=("self",))
        .select_related("location", "call")
        .filter(pk=notification_id, escalated_at__isnull=True)
        .first()
    )
    if alert is None or not alert.is_open:
        return None
    alert.escalated_at = timezone.now()
    alert.save(update_fields=["escalated_at"])
    if alert.incident_acknowledged():
        return None
    location = alert.location or current_organisation().default_location
    asked = set(
        EmergencyNotification.objects.filter(incident=alert.incident).values_list(
            "contact_id", flat=True
        )
    )
    remaining = [c for c in rota(location) if c.sms_enabled and c.pk not in asked]
    if not remaining:
        Notification.notify(
            "Nobody acknowledged an emergency",
            body=f"Everyone on call was alerted about: {alert.message}",
            level=Notification.Level.ERROR,
            link=reverse("telephony:call", args=[alert.call_id]) if alert.call_id else "",
        )
        return None
    return _alert(
        remaining[0],
        incident=alert.incident,
        call=alert.call,
        location=location,
        summary=alert.message,
    )


def acknowledge(alert: EmergencyNotification, *, user=None) -> bool:
    """Someone took the emergency: stop the escalation. False if it was already taken."""
    if alert.incident_acknowledged():
        return False
    alert.status = EmergencyNotification.Status.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = user
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    return True


def acknowledge_by_sms(from_number: str, body: str) -> EmergencyNotification | None:
    """A contact replied to an alert: acknowledge their latest open one and thank them."""
    if body.strip().strip(".!").upper() not in ACKNOWLEDGE_WORDS:
        return None
    alert = (
        EmergencyNotification.objects.filter(
            contact__phone=from_number,
            status__in=EmergencyNotification.OPEN,
            created_at__gte=timezone.now() - ACKNOWLEDGE_WINDOW,
        )
        .select_related("location")
        .order_by("-created_at")
        .first()
    )
    if alert is None or not acknowledge(alert):
        return None
    organisation = current_organisation()
    sms.queue(
        from_number,
        sms.render(
            "emergency_acknowledged", organisation.default_language, clinic=organisation.name
        ),
        template_key="emergency_acknowledged",
        language=organisation.default_language,
        location=alert.location,
    )
    return alert
