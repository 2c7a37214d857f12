"""Keeping external calendars and ours in step. Celery scheduling lives in calendars.tasks;
these functions do the work and run in the current tenant.

Busy times: a provider's busy time, minus our own appointments at that location (their events in
the provider are ours, and our appointments already hold that time), is stored as `BusyBlock`
rows, replacing what was stored for that window.

Pushing: an open appointment is created or updated in the provider, a cancelled one removed; the
provider's id is kept on the appointment. An appointment that came from a provider is never
pushed back to it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from calendars.availability import merge, subtract
from calendars.models import Appointment, BusyBlock, CalendarConnection
from calendars.providers import DEFAULT_TIMEOUT, RECHECK_TIMEOUT, NeedsReauth, calcom, google
from organisations.models import Membership, Notification
from organisations.providers import ProviderError, TransientProviderError
from organisations.roles import Role

logger = logging.getLogger(__name__)

Provider = CalendarConnection.Provider
PROVIDERS = {Provider.GOOGLE: google, Provider.CALCOM: calcom}
EXTERNAL_ID_FIELD = {Provider.GOOGLE: "google_event_id", Provider.CALCOM: "calcom_booking_uid"}
SYNC_AHEAD = timedelta(days=60)
KEEP_PAST_BLOCKS = timedelta(days=1)


def working_connections(**filters):
    """Connections of implemented providers that may be used (not waiting for a reconnect)."""
    return CalendarConnection.objects.filter(provider__in=PROVIDERS, **filters).exclude(
        status=CalendarConnection.Status.NEEDS_REAUTH
    )


def sync_busy(
    connection: CalendarConnection, start: datetime, end: datetime, *, timeout=DEFAULT_TIMEOUT
) -> int:
    """Replace the connection's busy blocks in [start, end) with the provider's; returns how
    many busy intervals the window now has."""
    external = PROVIDERS[connection.provider].busy_intervals(
        connection, start, end, timeout=timeout
    )
    ours = Appointment.objects.filter(
        location_id=connection.location_id,
        status__in=Appointment.HOLDS_TIME,
        start_at__lt=end,
        end_at__gt=start,
    ).values_list("start_at", "end_at")
    busy = subtract(
        [(max(s, start), min(e, end)) for s, e in external if s < end and e > start], ours
    )
    stored = BusyBlock.objects.filter(connection=connection, start_at__lt=end, end_at__gt=start)
    outside_window = subtract(stored.values_list("start_at", "end_at"), [(start, end)])
    stored.delete()
    now = timezone.now()
    BusyBlock.objects.bulk_create(
        BusyBlock(
            organisation_id=connection.organisation_id,
            connection=connection,
            location_id=connection.location_id,
            start_at=block_start,
            end_at=block_end,
            synced_at=now,
        )
        for block_start, block_end in merge([*outside_window, *busy])
    )
    return len(busy)


def sync_ahead(connection: CalendarConnection) -> int:
    """The periodic and on-demand sync: the coming SYNC_AHEAD of busy time."""
    now = timezone.now()
    BusyBlock.objects.filter(connection=connection, end_at__lt=now - KEEP_PAST_BLOCKS).delete()
    count = sync_busy(connection, now, now + SYNC_AHEAD)
    connection.record_success(synced=True)
    return count


def recheck_busy(location, start: datetime, end: datetime) -> None:
    """Just before booking: ask each connected calendar about [start, end) again. Failures are
    recorded on the connection and the stored busy times are used instead."""
    for connection in working_connections(location=location):
        try:
            sync_busy(connection, start, end, timeout=RECHECK_TIMEOUT)
        except ProviderError as exc:
            logger.warning("Busy-time re-check with %s failed: %s", connection, exc)
            record_failure(connection, exc)


def push(connection: CalendarConnection, appointment: Appointment) -> None:
    """Make the provider show the appointment as it is now (idempotent)."""
    if appointment.source == connection.provider:
        return
    field = EXTERNAL_ID_FIELD[connection.provider]
    external_id = getattr(appointment, field)
    module = PROVIDERS[connection.provider]
    if appointment.status == Appointment.Status.CANCELLED:
        module.remove(connection, external_id, reason=appointment.cancellation_reason)
        return
    new_id = module.upsert(connection, appointment, external_id)
    if new_id != external_id:
        Appointment.objects.filter(pk=appointment.pk).update(**{field: new_id})
        setattr(appointment, field, new_id)
    connection.record_success()


def refresh_tokens(connection: CalendarConnection) -> None:
    tokens = PROVIDERS[connection.provider].refresh(connection)
    if tokens is not None:
        connection.store_tokens(
            access_token=tokens.access_token,
            expires_at=tokens.expires_at,
            refresh_token=tokens.refresh_token,
        )


def record_failure(connection: CalendarConnection, exc: ProviderError) -> None:
    """Make a provider failure visible: transient ones as the last error, permanent ones also
    as the connection's status; a lost grant also tells the owners (once)."""
    Status = CalendarConnection.Status
    if isinstance(exc, NeedsReauth):
        newly = connection.status != Status.NEEDS_REAUTH
        connection.record_error(str(exc), status=Status.NEEDS_REAUTH)
        if newly:
            notify_owners_to_reconnect(connection, str(exc))
    elif isinstance(exc, TransientProviderError):
        connection.record_error(str(exc))
    else:
        connection.record_error(str(exc), status=Status.ERROR)


def notify_owners_to_reconnect(connection: CalendarConnection, reason: str) -> None:
    title = _("Reconnect %(provider)s for %(location)s") % {
        "provider": connection.get_provider_display(),
        "location": connection.location,
    }
    body = _(
        "Frontdesk can no longer reach this calendar (%(reason)s). Until you reconnect it, "
        "bookings are kept in Frontdesk only."
    ) % {"reason": reason}
    owners = Membership.objects.filter(role=Role.OWNER).select_related("user")
    for membership in owners:
        Notification.notify(
            title,
            body=body,
            level=Notification.Level.ERROR,
            link=reverse("calendars:integrations"),
            recipient=membership.user,
        )
