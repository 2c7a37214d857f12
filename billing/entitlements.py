"""Everything an organisation's plan and payment state allow, decided in one place.

* `call_handling(organisation)`: "answer", or "forward" to the clinic's fallback number when service
  is restricted (trial over, suspended, minutes cap reached, organisation suspended by us). A
  patient's call is never dropped. It sits on the phone path: at most one query, then cached.
* `is_read_only(organisation)`: the dashboard refuses writes (billing.middleware), except billing.
* `refusal_for_new_member/location/phone_number(organisation)`: a message when the plan has no
  room for one more, else None. Registered with `organisations.limits` in BillingConfig.ready().

Minutes over the plan's included amount are not refused: Stripe bills them (metered price), unless
the organisation set a hard cap.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from django.core.cache import cache
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext_lazy

from billing.models import RESTRICTED, Access, Plan, Subscription, UsageRecord, access_cache_key
from organisations.models import Invitation, Location, Membership, Organisation
from organisations.tenancy import current_organisation, tenant_transaction

DATE = "j M Y"  # as the dashboard shows dates
ANSWER = "answer"
FORWARD = "forward"
# Longest a cached answer may be stale; changes we make ourselves invalidate it at once.
ACCESS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class AccessState:
    """What the dashboard and the phone path need to know, cached per organisation."""

    access: str
    status: str
    trial_end: datetime | None
    grace_ends: datetime | None
    cancel_at_period_end: bool
    current_period_end: datetime | None
    minutes_hard_cap: int | None
    minutes_used: int
    valid_until: datetime | None

    @property
    def restricted(self) -> bool:
        return self.access in RESTRICTED

    @property
    def over_minutes_cap(self) -> bool:
        return self.minutes_hard_cap is not None and self.minutes_used >= self.minutes_hard_cap


def access_state(organisation: Organisation) -> AccessState:
    """The organisation's access, from the cache or one query."""
    key = access_cache_key(organisation.pk)
    state = cache.get(key)
    if state is None:
        state = _within(organisation, _read)
        cache.set(key, state, _seconds_to_keep(state))
    return state


def _seconds_to_keep(state: AccessState) -> int:
    if state.valid_until is None:
        return ACCESS_CACHE_SECONDS
    left = (state.valid_until - timezone.now()).total_seconds()
    return max(1, min(ACCESS_CACHE_SECONDS, int(left)))


def _within(organisation: Organisation, read):
    """`read(organisation)` inside the organisation's tenant (free when already there).

    Outside it the scoped managers would refuse, and row-level security would hide the rows and
    make the organisation look unsubscribed.
    """
    current = current_organisation()
    if current is not None and current.pk == organisation.pk:
        return read(organisation)
    with tenant_transaction(organisation):
        return read(organisation)


def _read(organisation: Organisation) -> AccessState:
    used = (
        UsageRecord.objects.filter(
            organisation_id=OuterRef("organisation_id"),
            ended_at__gte=OuterRef("current_period_start"),
        )
        .values("organisation_id")
        .annotate(total=Sum("minutes"))
        .values("total")
    )
    subscription = Subscription.objects.annotate(
        minutes_used=Coalesce(Subquery(used, output_field=IntegerField()), 0)
    ).first() or Subscription.implicit_trial(organisation)
    now = timezone.now()
    access, valid_until = subscription.access_at(now)
    return AccessState(
        access=access,
        status=subscription.status,
        trial_end=subscription.trial_end,
        grace_ends=subscription.grace_ends,
        cancel_at_period_end=subscription.cancel_at_period_end,
        current_period_end=subscription.current_period_end,
        minutes_hard_cap=subscription.minutes_hard_cap,
        minutes_used=getattr(subscription, "minutes_used", 0),
        valid_until=valid_until,
    )


def note_minutes_used(organisation: Organisation, minutes: int) -> None:
    """Keep the cached cap check honest after a call, without a query."""
    key = access_cache_key(organisation.pk)
    state = cache.get(key)
    if state is not None and state.minutes_hard_cap is not None:
        updated = replace(state, minutes_used=state.minutes_used + minutes)
        cache.set(key, updated, _seconds_to_keep(updated))


def call_handling(organisation: Organisation) -> str:
    """Whether to answer a call ("answer") or forward it to the fallback number ("forward")."""
    if organisation.status != Organisation.Status.ACTIVE:
        return FORWARD
    state = access_state(organisation)
    if state.restricted or state.over_minutes_cap:
        return FORWARD
    return ANSWER


def is_read_only(organisation: Organisation) -> bool:
    return access_state(organisation).restricted


def has_feature(organisation: Organisation, feature: str) -> bool:
    """Whether the plan includes `feature` ("calcom", "outbound_calls")."""
    return _within(organisation, Subscription.current).plan.has_feature(feature)


# ---------------------------------------------------------------------------------------------
# Counted resources


def count_members(organisation: Organisation) -> int:
    # Pending invitations hold a seat, so inviting cannot overshoot the plan.
    return (
        Membership.objects.count()
        + Invitation.objects.filter(status=Invitation.Status.PENDING).count()
    )


def count_locations(organisation: Organisation) -> int:
    return Location.objects.count()


COUNTERS = {
    "member": count_members,
    "location": count_locations,
    # Apps that own other limited resources (telephony: phone numbers) add their counter with
    # register_counter(): billing may not import them.
    "phone_number": lambda organisation: 0,
}


def register_counter(resource: str, counter) -> None:
    """`counter(organisation)` counts the organisation's `resource` in use (current tenant)."""
    COUNTERS[resource] = counter


UPGRADE = _lazy("An owner can choose a bigger plan on the Billing page.")
REFUSALS = {
    "member": ngettext_lazy(
        "Your %(plan)s plan includes %(limit)d team member and you have %(count)d, counting "
        "pending invitations.",
        "Your %(plan)s plan includes %(limit)d team members and you have %(count)d, counting "
        "pending invitations.",
        "limit",
    ),
    "location": ngettext_lazy(
        "Your %(plan)s plan includes %(limit)d location and you have %(count)d.",
        "Your %(plan)s plan includes %(limit)d locations and you have %(count)d.",
        "limit",
    ),
    "phone_number": ngettext_lazy(
        "Your %(plan)s plan includes %(limit)d phone number and you have %(count)d.",
        "Your %(plan)s plan includes %(limit)d phone numbers and you have %(count)d.",
        "limit",
    ),
}


def usage_of(organisation: Organisation, plan: Plan, resource: str) -> tuple[int, int | None]:
    """(how many the organisation has, how many its plan allows or None for unlimited)."""
    return COUNTERS[resource](organisation), plan.limit(resource)


def refusal(resource: str, organisation: Organisation) -> str | None:
    """Why the organisation cannot add one more `resource`, or None."""

    def check(organisation):
        plan = Subscription.current(organisation).plan
        count, limit = usage_of(organisation, plan, resource)
        if limit is None or count < limit:
            return None
        reason = REFUSALS[resource] % {"plan": plan.name, "limit": limit, "count": count}
        return f"{reason} {UPGRADE}"

    return _within(organisation, check)


def refusal_for_new_member(organisation: Organisation) -> str | None:
    return refusal("member", organisation)


def refusal_for_new_location(organisation: Organisation) -> str | None:
    return refusal("location", organisation)


def refusal_for_new_phone_number(organisation: Organisation) -> str | None:
    return refusal("phone_number", organisation)


# ---------------------------------------------------------------------------------------------
# Banner

SUSPENDED_NOTICE = _lazy(
    "Your subscription is suspended: calls are forwarded to your fallback number and the "
    "dashboard is read-only. Pay the open invoice or choose a plan to resume service."
)
TRIAL_OVER_NOTICE = _lazy(
    "Your free trial has ended: calls are forwarded to your fallback number and the dashboard is "
    "read-only until you choose a plan."
)
PAYMENT_FAILED_NOTICE = _lazy(
    "We could not take your last payment. Update your payment method by %(date)s, or calls will "
    "be forwarded to your fallback number."
)
FIRST_PAYMENT_NOTICE = _lazy("Your first payment needs confirming on the Billing page.")
CAP_NOTICE = _lazy(
    "You reached your limit of %(cap)s minutes this period: calls are forwarded to your fallback "
    "number until the period renews or the limit is raised."
)
ENDING_NOTICE = _lazy(
    "Your subscription ends on %(date)s. Resume it on the Billing page to keep answering calls."
)
TRIAL_NOTICE = _lazy("Your free trial runs until %(date)s.")


@dataclass(frozen=True)
class Banner:
    level: str  # "info", "warning" or "error", as the message styles
    message: str


def banner(organisation: Organisation) -> Banner | None:
    """The notice every dashboard page shows about the subscription, if any."""
    state = access_state(organisation)
    if state.access == Access.SUSPENDED:
        return Banner("error", str(SUSPENDED_NOTICE))
    if state.access == Access.READ_ONLY:
        return Banner("error", str(TRIAL_OVER_NOTICE))
    if state.access == Access.GRACE:
        if state.grace_ends is None:
            return Banner("warning", str(FIRST_PAYMENT_NOTICE))
        return Banner(
            "warning", PAYMENT_FAILED_NOTICE % {"date": date_format(state.grace_ends, DATE)}
        )
    if state.over_minutes_cap:
        return Banner("warning", CAP_NOTICE % {"cap": state.minutes_hard_cap})
    if state.cancel_at_period_end and state.current_period_end:
        return Banner("info", ENDING_NOTICE % {"date": date_format(state.current_period_end, DATE)})
    if state.status == Subscription.Status.TRIALING and state.trial_end:
        return Banner("info", TRIAL_NOTICE % {"date": date_format(state.trial_end, DATE)})
    return None
