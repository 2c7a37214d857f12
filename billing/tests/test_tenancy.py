"""Billing data stays inside its organisation: scoped managers, and row-level security on
PostgreSQL proven as the ordinary application role."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from billing.entitlements import FORWARD, call_handling
from billing.models import Invoice, Subscription, UsageRecord
from billing.tests import stripe_objects as so
from billing.tests.factories import InvoiceFactory, SubscriptionFactory, UsageRecordFactory
from organisations.rls import POLICY_NAME
from organisations.tenancy import (
    CrossTenantError,
    TenantScopeError,
    platform_transaction,
    tenant,
    tenant_transaction,
)

pytestmark = pytest.mark.django_db
TENANT_MODELS = [Subscription, Invoice, UsageRecord]


@pytest.fixture
def both(org, other_org):
    for organisation in (org, other_org):
        SubscriptionFactory(organisation=organisation)
        InvoiceFactory(organisation=organisation)
        UsageRecordFactory(organisation=organisation)
    return org, other_org


@pytest.mark.parametrize("model", TENANT_MODELS)
def test_scoped_manager_sees_only_the_current_organisation(both, model):
    org, _other_org = both
    with tenant(org):
        assert {row.organisation_id for row in model.objects.all()} == {org.pk}


@pytest.mark.parametrize("model", TENANT_MODELS)
def test_scoped_manager_refuses_without_an_organisation(model):
    with pytest.raises(TenantScopeError):
        list(model.objects.all())


def test_writing_another_organisations_row_is_refused(both):
    org, other_org = both
    theirs = Invoice.all_organisations.get(organisation=other_org)
    with tenant(org), pytest.raises(CrossTenantError):
        theirs.save()


@pytest.mark.postgres
@pytest.mark.parametrize("model", TENANT_MODELS)
def test_row_level_security_is_forced_with_the_tenant_policy(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s", [table]
        )
        assert cursor.fetchone() == (True, True)
        cursor.execute(
            "SELECT 1 FROM pg_policies WHERE tablename = %s AND policyname = %s",
            [table, POLICY_NAME],
        )
        assert cursor.fetchone() is not None


@pytest.mark.postgres
@pytest.mark.parametrize("model", TENANT_MODELS)
def test_app_role_reads_only_the_current_organisations_rows(both, model, settings):
    org, _other = both
    call_command("create_app_role", stdout=None)
    table = connection.ops.quote_name(model._meta.db_table)
    role = connection.ops.quote_name(settings.DATABASE_APP_ROLE)
    with tenant_transaction(org), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(f"SELECT DISTINCT organisation_id FROM {table}")
        assert [row[0] for row in cursor.fetchall()] == [org.pk]
        cursor.execute("SELECT set_config('app.organisation_id', '', true)")
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone() == (0,)
        cursor.execute("RESET ROLE")


@pytest.fixture
def as_app_role(settings):
    """The rest of the test runs as the ordinary application role, to which RLS applies."""
    call_command("create_app_role", stdout=None)
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


@pytest.mark.postgres
def test_phone_path_sees_the_subscription_under_rls_from_any_scope(org, as_app_role):
    with platform_transaction():
        SubscriptionFactory(organisation=org, status="canceled")
    assert call_handling(org) == FORWARD  # no scope at all
    cache.clear()
    with tenant_transaction(org):
        assert call_handling(org) == FORWARD


@pytest.mark.postgres
def test_webhook_processing_works_under_rls(org, as_app_role, post_event, stripe_http):
    with platform_transaction():
        SubscriptionFactory(organisation=org, stripe_subscription_id="sub_1", status="active")
    so.serve_subscription(stripe_http, so.subscription(status="past_due"))
    assert (
        post_event(so.event("invoice.payment_failed", so.invoice(status="open"))).status_code == 200
    )
    with tenant_transaction(org):
        assert Subscription.objects.get().status == Subscription.Status.PAST_DUE
        assert Invoice.objects.get().status == Invoice.Status.OPEN
