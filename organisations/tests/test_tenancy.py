"""The tenancy rules, checked for every TenantModel found by introspection (not a hand list)."""

from contextlib import contextmanager
from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from factory.django import DjangoModelFactory

from organisations.models import Customer, Location
from organisations.rls import POLICY_NAME, tenant_fk_name
from organisations.tenancy import (
    CrossTenantError,
    TenantScopeError,
    current_organisation,
    platform_access,
    tenant,
    tenant_models,
    tenant_parent_fields,
    tenant_transaction,
)
from organisations.tests.factories import CustomerFactory, LocationFactory

pytestmark = pytest.mark.django_db


def all_factories() -> dict:
    found = {}
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.tests.factories")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, DjangoModelFactory)
                and not value._meta.abstract
                and value._meta.model is not None
            ):
                found.setdefault(value._meta.model, value)
    return found


FACTORIES = all_factories()
TENANT_MODELS = sorted(tenant_models(), key=lambda m: m._meta.label)
model_ids = [m._meta.label for m in TENANT_MODELS]


def make(model, organisation, **kwargs):
    return FACTORIES[model](organisation=organisation, **kwargs)


def test_every_tenant_model_has_a_factory():
    missing = [m._meta.label for m in TENANT_MODELS if m not in FACTORIES]
    assert not missing, f"add factories for {missing} (subclass TenantFactory)"


@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_default_manager_spans_organisations_for_framework_code(model):
    assert model._default_manager.name == "all_organisations"
    assert model._meta.default_manager_name == "all_organisations"


@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_scoped_manager_raises_without_an_organisation(model):
    with pytest.raises(TenantScopeError):
        model.objects.count()


@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_scoped_manager_returns_only_the_current_organisations_rows(model, org, other_org):
    ours = make(model, org)
    theirs = make(model, other_org)
    with tenant(org):
        ids = set(model.objects.values_list("pk", flat=True))
        assert ours.pk in ids
        assert theirs.pk not in ids
        assert not model.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_saving_another_organisations_row_raises(model, org, other_org):
    theirs = make(model, other_org)
    with tenant(org), pytest.raises(CrossTenantError):
        theirs.save()
    with tenant(org), pytest.raises(CrossTenantError):
        theirs.delete()
    assert model.all_organisations.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_saving_with_no_organisation_in_scope_raises(model, org):
    row = make(model, org)
    with pytest.raises(TenantScopeError):
        row.save()


TENANT_FOREIGN_KEYS = [
    (model, field) for model in TENANT_MODELS for field in tenant_parent_fields(model)
]


def test_the_foundation_has_a_tenant_to_tenant_reference_to_police():
    assert (Customer, Customer._meta.get_field("location")) in TENANT_FOREIGN_KEYS


@pytest.mark.parametrize(
    ("model", "field"),
    TENANT_FOREIGN_KEYS,
    ids=[f"{m._meta.label}.{f.name}" for m, f in TENANT_FOREIGN_KEYS],
)
def test_a_row_cannot_point_at_another_organisations_parent(model, field, org, other_org):
    row = make(model, org)
    foreign_parent = make(field.related_model, other_org)
    with tenant(org):
        # As a loaded object (cached on the instance) and as a bare id.
        setattr(row, field.name, foreign_parent)
        with pytest.raises(CrossTenantError):
            row.save()
        row = model.all_organisations.get(pk=row.pk)
        setattr(row, field.attname, foreign_parent.pk)
        with pytest.raises(CrossTenantError):
            row.save()


def test_new_rows_take_the_current_organisation(org):
    with tenant(org):
        customer = Customer.objects.create(phone="+14155550101", name="Ann")
    assert customer.organisation_id == org.pk


def test_scope_is_reset_after_an_exception(org):
    with pytest.raises(ZeroDivisionError), tenant(org):
        1 / 0  # noqa: B018
    assert current_organisation() is None


def test_platform_access_allows_writes_but_not_scoped_reads(org):
    with platform_access():
        LocationFactory(organisation=org, name="Annex")
        with pytest.raises(TenantScopeError):
            Location.objects.count()


def test_factories_and_platform_code_still_need_an_organisation(org):
    with platform_access(), pytest.raises(TenantScopeError):
        Customer(phone="+14155550100").save()


# ---------------------------------------------------------------------------------------------
# PostgreSQL row-level security


def _tables():
    return [(m, m._meta.db_table) for m in TENANT_MODELS]


@pytest.mark.postgres
@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_table_has_row_level_security_enabled_and_forced(model):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
            [model._meta.db_table],
        )
        assert cursor.fetchone() == (True, True)
        cursor.execute(
            "SELECT qual, with_check FROM pg_policies WHERE tablename = %s AND policyname = %s",
            [model._meta.db_table, POLICY_NAME],
        )
        using, check = cursor.fetchone()
    assert "app.organisation_id" in using
    assert "app.organisation_id" in check


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("model", "field"),
    TENANT_FOREIGN_KEYS,
    ids=[f"{m._meta.label}.{f.name}" for m, f in TENANT_FOREIGN_KEYS],
)
def test_database_has_a_same_organisation_foreign_key(model, field):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND contype = 'f'",
            [tenant_fk_name(model._meta.db_table, field.column)],
        )
        assert cursor.fetchone() is not None


@contextmanager
def as_app_role():
    """Run the block as the ordinary application role, for which RLS applies (the test
    connection itself is a superuser, which RLS ignores)."""
    role = connection.ops.quote_name(settings.DATABASE_APP_ROLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [settings.DATABASE_APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {role} NOSUPERUSER NOBYPASSRLS")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        )
        cursor.execute(f"SET LOCAL ROLE {role}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def _visible(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT organisation_id FROM {connection.ops.quote_name(table)}")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.parametrize("model", TENANT_MODELS, ids=model_ids)
def test_raw_sql_under_the_app_role_sees_only_the_current_organisation(model, org, other_org):
    make(model, org)
    make(model, other_org)
    table = model._meta.db_table
    with as_app_role():
        assert _visible(table) == set(), "no tenant set must show no rows"
        with tenant_transaction(org):
            assert _visible(table) == {org.pk}
        with tenant_transaction(other_org):
            assert _visible(table) == {other_org.pk}
        assert _visible(table) == set(), "the setting is restored when the scope ends"


@pytest.mark.postgres
def test_the_app_role_cannot_write_into_another_organisation(org, other_org):
    with (
        as_app_role(),
        tenant_transaction(org),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO organisations_customer (id, organisation_id, name, phone, email,"
            " preferred_language, notes, sms_opt_out, created_at, updated_at)"
            " VALUES (gen_random_uuid(), %s, 'x', '+14155550199', '', 'en', '', false,"
            " now(), now())",
            [other_org.pk],
        )


@pytest.mark.postgres
def test_database_refuses_a_parent_from_another_organisation(org, other_org):
    customer = CustomerFactory(organisation=org)
    foreign_location = LocationFactory(organisation=other_org)
    # Bypass the application check to prove the database enforces it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.all_organisations.filter(pk=customer.pk).update(location=foreign_location)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
