"""Background billing work: usage reports to Stripe's meter, and ending service nobody pays for.

Retries are scheduled in the database (`UsageRecord.next_attempt_at`, picked up by a periodic
scan) rather than as long Celery countdowns, which the broker may redeliver or lose.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe as stripe_api
from billing.entitlements import SUSPENDED_NOTICE, TRIAL_OVER_NOTICE
from billing.models import RESTRICTED, Access, Subscription, UsageRecord
from billing.notify import notify_owners
from organisations.models import Notification, Organisation
from organisations.providers import PermanentProviderError, TransientProviderError
from organisations.tasks import tenant_task
from organisations.tenancy import current_organisation, platform_transaction

logger = logging.getLogger(__name__)


@tenant_task(acks_late=True)
def report_usage_to_stripe(*, organisation_id: str, usage_record_id: str) -> str:
    """Add one call's minutes to the Stripe meter, the call id as the event's identifier.

    Safe to run twice: the row is locked and checked, and Stripe counts an identifier once.
    """
    record = (
        UsageRecord.objects.select_for_update()
        .filter(pk=usage_record_id, status=UsageRecord.Status.PENDING)
        .first()
    )
    if record is None or record.is_waiting_for_retry(timezone.now()):
        return "nothing to do"
    subscription = Subscription.objects.first()
    customer_id = subscription.stripe_customer_id if subscription else ""
    if not stripe_api.configured():
        record.mark_skipped("Stripe is not configured")
        return record.status
    if not customer_id:
        record.mark_skipped("No Stripe customer: minutes outside a Stripe subscription are free")
        return record.status
    record.attempts += 1
    try:
        stripe_api.report_minutes(
            customer_id=customer_id,
            minutes=record.minutes,
            identifier=record.call_id,
            timestamp=record.ended_at,
        )
    except TransientProviderError as exc:
        if record.attempts < UsageRecord.MAX_ATTEMPTS:
            record.schedule_retry(str(exc))
            return "retry scheduled"
        _give_up(record, str(exc))
    except PermanentProviderError as exc:
        _give_up(record, str(exc))
    else:
        record.mark_reported()
    return record.status


def _give_up(record: UsageRecord, error: str) -> None:
    logger.error("Usage of call %s not reported to Stripe: %s", record.call_id, error)
    record.mark_failed(error)
    Notification.notify(
        _("Call minutes could not be billed"),
        body=_(
            "The minutes of call %(call)s could not be reported to Stripe: %(error)s. "
            "Frontdesk support has been told."
        )
        % {"call": record.call_id, "error": error},
        level=Notification.Level.ERROR,
    )


@shared_task
def retry_usage_reports() -> int:
    """Periodic: enqueue the usage reports that are due (retries, and any enqueue that was lost)."""
    with platform_transaction():
        due = list(
            UsageRecord.all_organisations.filter(
                status=UsageRecord.Status.PENDING, next_attempt_at__lte=timezone.now()
            ).values_list("organisation_id", "pk")[:1000]
        )
        for organisation_id, record_id in due:
            report_usage_to_stripe.delay_on_commit(
                organisation_id=str(organisation_id), usage_record_id=str(record_id)
            )
    return len(due)


@shared_task
def enforce_billing_access() -> int:
    """Periodic: find organisations whose service may have ended by the clock (grace period over,
    trial over) or by Stripe, and let `apply_billing_access` decide and tell their owners."""
    now = timezone.now()
    with platform_transaction():
        not_active = Subscription.all_organisations.filter(restricted_at__isnull=True).exclude(
            status=Subscription.Status.ACTIVE
        )
        trial_over = (
            Organisation.objects.filter(
                status=Organisation.Status.ACTIVE,
                created_at__lte=now - timedelta(days=settings.BILLING_TRIAL_DAYS),
            )
            .exclude(pk__in=Subscription.all_organisations.values("organisation_id"))
            .values_list("pk", flat=True)
        )
        organisation_ids = {*not_active.values_list("organisation_id", flat=True), *trial_over}
        for organisation_id in organisation_ids:
            apply_billing_access.delay_on_commit(organisation_id=str(organisation_id))
    return len(organisation_ids)


@tenant_task()
def apply_billing_access(*, organisation_id: str) -> str:
    """End a local trial that is over (paused, as Stripe does without a payment method) and, the
    first time service is restricted, tell the owners."""
    organisation = current_organisation()
    now = timezone.now()
    subscription = Subscription.materialise(organisation)
    trial_over = subscription.trial_end is not None and subscription.trial_end <= now
    if subscription.is_local and subscription.status == Subscription.Status.TRIALING and trial_over:
        subscription.record_status(Subscription.Status.PAUSED, now)
    access, _until = subscription.access_at(now)
    if access in RESTRICTED and subscription.restricted_at is None:
        subscription.restricted_at = now
        title, body = (
            (_("Your free trial has ended"), TRIAL_OVER_NOTICE)
            if access == Access.READ_ONLY
            else (_("Service suspended"), SUSPENDED_NOTICE)
        )
        notify_owners(organisation, title=title, body=str(body), level=Notification.Level.ERROR)
    subscription.save()
    return access
