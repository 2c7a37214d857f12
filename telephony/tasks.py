"""Background work: sending texts, reminder and escalation scans.

Tenant tasks take `organisation_id=` and run inside that organisation (organisations.tasks);
the periodic scans span organisations with `platform_transaction()` and fan out to them.
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from organisations.providers import TransientProviderError
from organisations.tasks import tenant_task
from organisations.tenancy import platform_transaction
from telephony import appointment_texts, oncall, sms
from telephony.models import EmergencyNotification, SmsMessage, WebhookDelivery


def _backoff(retries: int) -> int:
    return min(30 * 2**retries, 900)


@tenant_task(bind=True, acks_late=True, max_retries=settings.SMS_MAX_RETRIES)
def deliver_sms(self, *, organisation_id: str, sms_id: str) -> None:
    # The row lock makes a redelivered task (acks_late) wait, then find the text already sent.
    message = (
        SmsMessage.objects.select_for_update()
        .filter(pk=sms_id, status=SmsMessage.Status.QUEUED)
        .first()
    )
    if message is None:
        return
    attempt = self.request.retries + 1
    try:
        sms.deliver(message, attempt=attempt)
    except TransientProviderError as exc:
        if self.request.retries >= self.max_retries:
            sms.give_up(message, str(exc), attempt=attempt)
            return
        # Raising would roll back the record of this attempt (docs/conventions.md): keep it,
        # then let Celery send the retry.
        sms.note_failure(message, str(exc), attempt=attempt)
        self.retry(exc=exc, countdown=_backoff(self.request.retries), throw=False)


@shared_task
def send_due_reminders() -> int:
    """Periodic: find appointments with a reminder due now and text them, per organisation."""
    with platform_transaction():
        due = appointment_texts.organisations_with_due_reminders(timezone.now())
    for organisation_id in due:
        send_reminders.delay(organisation_id=str(organisation_id))
    return len(due)


@tenant_task(acks_late=True)
def send_reminders(*, organisation_id: str) -> int:
    return appointment_texts.send_due(timezone.now())


@shared_task
def escalate_emergencies() -> int:
    """Periodic: alerts nobody acknowledged in time move on to the next person on call."""
    with platform_transaction():
        due = list(
            EmergencyNotification.all_organisations.filter(
                status__in=EmergencyNotification.OPEN,
                escalated_at__isnull=True,
                escalate_at__lte=timezone.now(),
            ).values_list("organisation_id", "pk")
        )
    for organisation_id, notification_id in due:
        escalate_emergency.delay(
            organisation_id=str(organisation_id), notification_id=str(notification_id)
        )
    return len(due)


@tenant_task(acks_late=True)
def escalate_emergency(*, organisation_id: str, notification_id: str) -> None:
    oncall.escalate(notification_id)


@shared_task
def purge_old_deliveries() -> int:
    """Periodic: raw provider deliveries hold callers' numbers and transcripts, so processed ones
    are kept only TELEPHONY_WEBHOOK_RETENTION_DAYS (failed ones stay until replayed)."""
    cutoff = timezone.now() - timedelta(days=settings.TELEPHONY_WEBHOOK_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(
        processed_at__isnull=False, received_at__lt=cutoff
    ).delete()
    return deleted
