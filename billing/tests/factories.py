from datetime import UTC, datetime, timedelta

import factory
from factory.django import DjangoModelFactory

from billing.models import Invoice, Plan, StripeEvent, Subscription, UsageRecord
from organisations.tests.factories import OrganisationFactory, TenantFactory

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    stripe_price_id = factory.Sequence(lambda n: f"price_base_{n}")
    stripe_metered_price_id = factory.Sequence(lambda n: f"price_minutes_{n}")
    monthly_price = "99.00"
    included_minutes = 500
    seats = 5
    phone_numbers = 2
    locations = 2
    trial_days = 14


class SubscriptionFactory(TenantFactory):
    class Meta:
        model = Subscription

    organisation = factory.SubFactory(OrganisationFactory)
    plan = factory.SubFactory(PlanFactory)
    status = Subscription.Status.ACTIVE
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test{n:06d}")
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test{n:06d}")
    current_period_start = factory.LazyFunction(lambda: NOW - timedelta(days=10))
    current_period_end = factory.LazyFunction(lambda: NOW + timedelta(days=20))


class InvoiceFactory(TenantFactory):
    class Meta:
        model = Invoice

    organisation = factory.SubFactory(OrganisationFactory)
    stripe_invoice_id = factory.Sequence(lambda n: f"in_test{n:06d}")
    number = factory.Sequence(lambda n: f"INV-{n:04d}")
    status = Invoice.Status.PAID
    amount_due = 9900
    amount_paid = 9900
    issued_at = NOW


class UsageRecordFactory(TenantFactory):
    class Meta:
        model = UsageRecord

    organisation = factory.SubFactory(OrganisationFactory)
    call_id = factory.Sequence(lambda n: f"call-{n:06d}")
    seconds = 125
    minutes = 3
    ended_at = NOW


class StripeEventFactory(DjangoModelFactory):
    class Meta:
        model = StripeEvent

    event_id = factory.Sequence(lambda n: f"evt_test{n:06d}")
    type = "customer.subscription.updated"
    body = "{}"
