"""Call minutes: recorded here when a call ends, reported to Stripe's meter in the background.

The billing page counts minutes from these records, never from Stripe (which aggregates meter
events asynchronously and would lag).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from billing import entitlements
from billing.models import Subscription, UsageRecord, minutes_for
from billing.tasks import report_usage_to_stripe
from organisations.tenancy import current_organisation, current_organisation_id

# A safety net: if the enqueued report never ran (broker down), the periodic scan picks it up.
FIRST_REPORT_DEADLINE = timedelta(minutes=10)


def record_call_usage(*, call_id: str, seconds: int, ended_at: datetime) -> UsageRecord:
    """Store a finished call's minutes (rounded up) for the current organisation, once per call.

    Called again for the same call (a repeated provider message), it returns the first record
    and reports nothing more. The report to Stripe runs after the transaction commits.
    """
    organisation_id = current_organisation_id()
    record, created = UsageRecord.objects.get_or_create(
        call_id=call_id,
        defaults={
            "seconds": seconds,
            "minutes": minutes_for(seconds),
            "ended_at": ended_at,
            "next_attempt_at": timezone.now() + FIRST_REPORT_DEADLINE,
        },
    )
    if created:
        entitlements.note_minutes_used(current_organisation(), record.minutes)
        report_usage_to_stripe.delay_on_commit(
            organisation_id=str(organisation_id), usage_record_id=str(record.pk)
        )
    return record


@dataclass(frozen=True)
class PeriodUsage:
    start: datetime | None
    end: datetime | None
    minutes_used: int
    included_minutes: int
    minutes_hard_cap: int | None

    @property
    def overage_minutes(self) -> int:
        return max(0, self.minutes_used - self.included_minutes)

    @property
    def percent_of_included(self) -> int:
        if not self.included_minutes:
            return 100 if self.minutes_used else 0
        return min(100, round(100 * self.minutes_used / self.included_minutes))


def period_usage(subscription: Subscription) -> PeriodUsage:
    start, end = subscription.period()
    return PeriodUsage(
        start=start,
        end=end,
        minutes_used=UsageRecord.minutes_since(start),
        included_minutes=subscription.plan.included_minutes,
        minutes_hard_cap=subscription.minutes_hard_cap,
    )
