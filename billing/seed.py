"""Demo billing: the plans (platform-wide, once), then per demo clinic a subscription, invoices
and a month of call minutes. Stripe ids are made up (`*_demo_*`): with a real Stripe account,
enter real price ids on the plans in the admin."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import Invoice, Plan, Subscription, UsageRecord, minutes_for

PLANS = [
    {
        "code": "trial",
        "name": "Free trial",
        "description": "Try Frontdesk with one number and one location.",
        "included_minutes": 100,
        "seats": 3,
        "phone_numbers": 1,
        "locations": 1,
        "is_public": False,
        "sort_order": 0,
    },
    {
        "code": "starter",
        "name": "Starter",
        "description": "One clinic, one number.",
        "stripe_price_id": "price_demo_starter",
        "stripe_metered_price_id": "price_demo_starter_minutes",
        "monthly_price": Decimal("49.00"),
        "minute_price": Decimal("0.1500"),
        "included_minutes": 300,
        "seats": 5,
        "phone_numbers": 1,
        "locations": 1,
        "trial_days": 14,
        "sort_order": 10,
    },
    {
        "code": "growth",
        "name": "Growth",
        "description": "Several locations, calendars and outbound calls.",
        "stripe_price_id": "price_demo_growth",
        "stripe_metered_price_id": "price_demo_growth_minutes",
        "monthly_price": Decimal("149.00"),
        "minute_price": Decimal("0.1200"),
        "included_minutes": 1500,
        "seats": 20,
        "phone_numbers": 5,
        "locations": 5,
        "feature_calcom": True,
        "feature_outbound_calls": True,
        "trial_days": 14,
        "sort_order": 20,
    },
    {
        "code": "clinic-group",
        "name": "Clinic group",
        "description": "No limits on team, numbers or locations.",
        "stripe_price_id": "price_demo_group",
        "stripe_metered_price_id": "price_demo_group_minutes",
        "monthly_price": Decimal("449.00"),
        "minute_price": Decimal("0.1000"),
        "included_minutes": 6000,
        "feature_calcom": True,
        "feature_outbound_calls": True,
        "sort_order": 30,
    },
]

# Per demo clinic (by slug): the plan, its status and whether Stripe already billed it.
DEMO_SUBSCRIPTIONS = {
    "bright-smile-dental": {"plan": "growth", "status": Subscription.Status.ACTIVE},
    "pacific-physio": {"plan": "starter", "status": Subscription.Status.TRIALING},
}


def seed_plans() -> dict[str, Plan]:
    plans = {}
    for spec in PLANS:
        fields = {key: value for key, value in spec.items() if key != "code"}
        plans[spec["code"]], _ = Plan.objects.get_or_create(code=spec["code"], defaults=fields)
    return plans


def seed_organisation(organisation) -> None:
    """Inside the organisation's tenant. Idempotent: every row has a stable key."""
    plans = seed_plans()
    spec = DEMO_SUBSCRIPTIONS.get(organisation.slug)
    if spec is None:
        return
    now = timezone.now().replace(microsecond=0)
    period_start = now - timedelta(days=12)
    active = spec["status"] == Subscription.Status.ACTIVE
    subscription, _ = Subscription.objects.get_or_create(
        defaults={
            "plan": plans[spec["plan"]],
            "status": spec["status"],
            "stripe_customer_id": f"cus_demo_{organisation.slug}",
            "stripe_subscription_id": f"sub_demo_{organisation.slug}",
            "current_period_start": period_start,
            "current_period_end": period_start + timedelta(days=30),
            "trial_end": None if active else period_start + timedelta(days=14),
        }
    )
    if active:
        _seed_invoices(organisation, subscription)
    _seed_usage(organisation, period_start)


def _seed_invoices(organisation, subscription: Subscription) -> None:
    plan = subscription.plan
    for months_ago in (1, 2, 3):
        start = subscription.current_period_start - timedelta(days=30 * months_ago)
        amount = int(plan.monthly_price * 100) + 40 * months_ago * 12
        Invoice.objects.get_or_create(
            stripe_invoice_id=f"in_demo_{organisation.slug}_{months_ago}",
            defaults={
                "number": f"FD-{organisation.slug[:4].upper()}-{100 - months_ago:04d}",
                "status": Invoice.Status.PAID,
                "amount_due": amount,
                "amount_paid": amount,
                "currency": plan.currency,
                "period_start": start,
                "period_end": start + timedelta(days=30),
                "issued_at": start + timedelta(days=30),
                "paid_at": start + timedelta(days=30, hours=1),
            },
        )


def _seed_usage(organisation, period_start) -> None:
    for n in range(24):
        seconds = 45 + (n * 97) % 420
        UsageRecord.objects.get_or_create(
            call_id=f"demo-{organisation.slug}-{n:03d}",
            defaults={
                "seconds": seconds,
                "minutes": minutes_for(seconds),
                "ended_at": period_start + timedelta(hours=11 * n + 9),
                "status": UsageRecord.Status.REPORTED,
                "reported_at": period_start + timedelta(hours=11 * n + 9, minutes=1),
            },
        )
