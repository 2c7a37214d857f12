"""Calendar background work: token refresh, busy-time sync, pushing appointments.

Periodic scans run across organisations (platform transaction) and fan out to tenant tasks, one
per connection. Tenant tasks are idempotent. A transient provider failure is recorded on the
connection and retried later with exponential backoff (or the provider's Retry-After); a
permanent one, or the last retry, is recorded as the connection's status and, when only a
reconnect can help (`invalid_grant`), the owners are notified once and nothing is retried.

Retries are scheduled with `throw=False` so the task body still returns and its transaction
(which holds the recorded error) commits; a raised exception would roll the record back.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.utils import timezone

from calendars import sync
from calendars.models import Appointment, CalendarConnection
from organisations.providers import PermanentProviderError, TransientProviderError
from organisations.tasks import tenant_task
from organisations.tenancy import platform_transaction

MAX_RETRIES = 8
BACKOFF_MAX = 15 * 60
REFRESH_AHEAD = timedelta(minutes=20)


def _with_provider(task, connection: CalendarConnection, work) -> None:
    try:
        work()
    except TransientProviderError as exc:
        attempts = task.request.retries + 1
        if attempts > MAX_RETRIES:
            sync.record_failure(
                connection,
                PermanentProviderError(f"Gave up after {attempts} attempts: {exc}"),
            )
            return
        sync.record_failure(connection, exc)
        countdown = getattr(exc, "retry_after", None) or get_exponential_backoff_interval(
            factor=2, retries=task.request.retries, maximum=BACKOFF_MAX, full_jitter=True
        )
        task.retry(exc=exc, countdown=countdown, throw=False)
    except PermanentProviderError as exc:
        sync.record_failure(connection, exc)


def _connection(connection_id) -> CalendarConnection | None:
    return sync.working_connections(pk=connection_id).select_related("location").first()


def push_to_calendars(appointment: Appointment) -> None:
    """After the current transaction commits, push the appointment to each of its location's
    calendars (one task per connection, so one provider's failure never repeats another's)."""
    connection_ids = (
        sync.working_connections(location_id=appointment.location_id)
        .exclude(provider=appointment.source)
        .values_list("id", flat=True)
    )
    for connection_id in connection_ids:
        push_appointment.delay_on_commit(
            organisation_id=str(appointment.organisation_id),
            appointment_id=str(appointment.pk),
            connection_id=str(connection_id),
        )


@tenant_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def push_appointment(self, *, organisation_id, appointment_id, connection_id) -> None:
    connection = _connection(connection_id)
    appointment = (
        Appointment.objects.select_related("location", "service").filter(pk=appointment_id).first()
    )
    if connection is None or appointment is None:
        return
    _with_provider(self, connection, lambda: sync.push(connection, appointment))


@tenant_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def sync_connection(self, *, organisation_id, connection_id) -> None:
    connection = _connection(connection_id)
    if connection is not None:
        _with_provider(self, connection, lambda: sync.sync_ahead(connection))


@tenant_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def refresh_connection_tokens(self, *, organisation_id, connection_id) -> None:
    connection = _connection(connection_id)
    if connection is not None and _expiring(connection):
        _with_provider(self, connection, lambda: sync.refresh_tokens(connection))


def _expiring(connection: CalendarConnection) -> bool:
    expires = connection.token_expires_at
    return bool(connection.refresh_token) and (
        expires is None or expires <= timezone.now() + REFRESH_AHEAD
    )


@shared_task
def refresh_expiring_tokens() -> int:
    """Periodic: refresh OAuth tokens that expire before the next run or two."""
    with platform_transaction():
        due = (
            CalendarConnection.all_organisations.filter(
                provider__in=sync.PROVIDERS,
                auth_method=CalendarConnection.AuthMethod.OAUTH,
                token_expires_at__lte=timezone.now() + REFRESH_AHEAD,
            )
            .exclude(status=CalendarConnection.Status.NEEDS_REAUTH)
            .exclude(refresh_token="")
            .values_list("organisation_id", "id")
        )
        for organisation_id, connection_id in due:
            refresh_connection_tokens.delay_on_commit(
                organisation_id=str(organisation_id), connection_id=str(connection_id)
            )
        return len(due)


@shared_task
def sync_busy_times() -> int:
    """Periodic: copy every working connection's coming busy time."""
    with platform_transaction():
        connections = (
            CalendarConnection.all_organisations.filter(provider__in=sync.PROVIDERS)
            .exclude(status=CalendarConnection.Status.NEEDS_REAUTH)
            .values_list("organisation_id", "id")
        )
        for organisation_id, connection_id in connections:
            sync_connection.delay_on_commit(
                organisation_id=str(organisation_id), connection_id=str(connection_id)
            )
        return len(connections)
