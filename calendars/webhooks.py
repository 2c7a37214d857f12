"""Cal.com webhooks: `POST /webhooks/calcom/` mirrors bookings made or changed in Cal.com.

Receiving: the signature (hex HMAC-SHA256 of the raw body in `X-Cal-Signature-256`) is checked
first; a bad one is a 403 with a log line and nothing stored. A body that is not a Cal.com webhook
is a 400. Anything else is stored raw (`CalendarWebhookDelivery`) once per event id
(`<trigger>:<booking uid>`, Cal.com sends no delivery id) and processed by a task after commit;
a repeated delivery is acknowledged and not processed again.

Processing (also the admin's replay): the organisation is found from our appointment id in the
booking's metadata, the booking uid, or the connection of its event type, then, in that tenant,
BOOKING_CREATED records an appointment (or links ours), BOOKING_RESCHEDULED moves it and
BOOKING_CANCELLED cancels it. Other triggers are acknowledged and ignored. Each step checks the
current state first, so processing twice changes nothing.
"""

from __future__ import annotations

import hashlib
import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendars import booking
from calendars.models import Appointment, CalendarConnection, CalendarWebhookDelivery
from calendars.providers import calcom
from organisations.models import Customer, Notification
from organisations.phone import normalise_phone
from organisations.tenancy import platform_transaction, tenant_transaction

logger = logging.getLogger(__name__)

PROVIDER = CalendarConnection.Provider.CALCOM
CREATED, RESCHEDULED, CANCELLED = "BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"
STORED_HEADERS = ("Content-Type", "User-Agent", "X-Cal-Webhook-Version", calcom.SIGNATURE_HEADER)


class Rejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def receive(request) -> tuple[int, str]:
    """Check, store and enqueue one delivery; returns (HTTP status, short reason)."""
    body = request.body
    signature = request.headers.get(calcom.SIGNATURE_HEADER, "")
    if not calcom.signature_is_valid(body, signature, settings.CALCOM_WEBHOOK_SECRET):
        logger.warning("Cal.com webhook with a bad signature from %s", request.META["REMOTE_ADDR"])
        raise Rejected(403, "bad signature")
    try:
        event = calcom.parse_webhook(body)
    except ValueError as exc:
        raise Rejected(400, f"malformed body: {exc}") from exc
    event_id = f"{event.trigger}:{event.uid}" if event.uid else hashlib.sha256(body).hexdigest()
    with platform_transaction():
        delivery, created = CalendarWebhookDelivery.objects.get_or_create(
            provider=PROVIDER,
            event_id=event_id,
            defaults={
                "trigger": event.trigger,
                "headers": {
                    name: request.headers[name]
                    for name in STORED_HEADERS
                    if name in request.headers
                },
                "body": body.decode("utf-8", errors="replace"),
            },
        )
        if not created and delivery.processed_at:
            return 200, "duplicate"
        process_delivery.delay_on_commit(delivery.pk)
    return 200, "accepted"


@shared_task(acks_late=True)
def process_delivery(delivery_id: int) -> None:
    process(delivery_id)


def process(delivery_id: int) -> CalendarWebhookDelivery:
    """Apply a stored delivery (idempotent). Problems are kept on the delivery for the admin."""
    with platform_transaction():
        delivery = CalendarWebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.processed_at:
            return delivery
        delivery.attempts += 1
        error = ""
        try:
            event = calcom.parse_webhook(delivery.body.encode())
            delivery.organisation_id, error = _apply(event)
        except Exception as exc:
            # Kept for replay rather than lost: the delivery stays unprocessed.
            logger.exception("Cal.com delivery %s failed", delivery.pk)
            delivery.error = f"{type(exc).__name__}: {exc}"
            delivery.save(update_fields=["attempts", "error"])
            return delivery
        delivery.error = error
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["attempts", "error", "processed_at", "organisation"])
        return delivery


def _apply(event: calcom.BookingEvent):
    """Returns (organisation id or None, a problem to keep on the delivery or "")."""
    if event.trigger not in (CREATED, RESCHEDULED, CANCELLED):
        return None, ""
    appointment = _find_appointment(event)
    connection = _find_connection(event)
    owner = appointment or connection
    if owner is None:
        return None, f"No Cal.com connection for event type {event.event_type_id or '?'}"
    organisation = owner.organisation
    with tenant_transaction(organisation):
        try:
            with transaction.atomic():
                if event.trigger == CANCELLED:
                    _cancel(appointment)
                elif appointment is not None:
                    _follow(appointment, event)
                else:
                    _record(connection, event)
        except booking.BookingError as exc:
            _tell_staff(event, exc)
            return organisation.pk, str(exc)
    return organisation.pk, ""


def _find_appointment(event) -> Appointment | None:
    """Ours by the id in the booking's metadata, else by the Cal.com uid (or the uid a
    reschedule replaced). Platform lookup: the organisation is not known yet."""
    appointments = Appointment.all_organisations.select_related("organisation", "location")
    if event.appointment_id:
        found = appointments.filter(pk=event.appointment_id).first()
        if found is not None:
            return found
    uids = [uid for uid in (event.uid, event.previous_uid) if uid]
    return appointments.filter(calcom_booking_uid__in=uids).first() if uids else None


def _find_connection(event) -> CalendarConnection | None:
    if not event.event_type_id:
        return None
    return (
        CalendarConnection.all_organisations.select_related("organisation", "location", "service")
        .filter(provider=PROVIDER, event_type_id=event.event_type_id)
        .order_by("created_at")
        .first()
    )


def _cancel(appointment: Appointment | None) -> None:
    if appointment is not None and appointment.is_open:
        booking.cancel_appointment(appointment, reason=_("Cancelled in Cal.com"))


def _follow(appointment: Appointment, event) -> None:
    """A booking we know: keep its current uid, and its time when Cal.com moved it (only a
    reschedule moves it: a late BOOKING_CREATED of our own booking must not undo a move)."""
    if event.uid and appointment.calcom_booking_uid != event.uid:
        Appointment.objects.filter(pk=appointment.pk).update(calcom_booking_uid=event.uid)
        appointment.calcom_booking_uid = event.uid
    moved = event.trigger == RESCHEDULED and event.start and event.start != appointment.start_at
    if moved and appointment.is_open:
        booking.move_external_booking(appointment, event.start, event.end)


def _record(connection: CalendarConnection, event) -> None:
    """A booking made in Cal.com: record it as an appointment of the connection's service."""
    if connection.service is None:
        raise booking.BookingError(
            _("Choose the service for Cal.com bookings on the Integrations page.")
        )
    if event.start is None or not event.uid:
        raise booking.BookingError(_("The booking has no start time or uid."))
    phone = _phone(event.phone, connection.organisation.country)
    customer = Customer.for_phone(phone, name=event.name) if phone else None
    confirmed = event.status != "pending"
    appointment = Appointment(
        location=connection.location,
        customer=customer,
        name=event.name,
        phone=phone,
        email=event.email,
        status=Appointment.Status.CONFIRMED if confirmed else Appointment.Status.PENDING,
        confirmed_at=timezone.now() if confirmed else None,
        source=Appointment.Source.CALCOM,
        calcom_booking_uid=event.uid,
    )
    appointment.place(event.start, connection.service, event.end)
    booking.record_external_booking(appointment)


def _phone(raw: str, country: str) -> str:
    if not raw:
        return ""
    try:
        return normalise_phone(raw, country)
    except ValidationError:
        return ""


def _tell_staff(event, exc: Exception) -> None:
    Notification.notify(
        _("A Cal.com booking needs your attention"),
        body=_("%(name)s, %(start)s: %(reason)s")
        % {
            "name": event.name or _("a customer"),
            "start": f"{event.start:%Y-%m-%d %H:%M} UTC" if event.start else "?",
            "reason": exc,
        },
        level=Notification.Level.WARNING,
    )
