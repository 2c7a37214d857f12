"""Every calendars model is tenant data: invisible to other organisations in the application
(scoped managers, same-organisation parents) and, on PostgreSQL, in the database (row-level
security, composite same-organisation foreign keys)."""

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from calendars.models import (
    Appointment,
    BusyBlock,
    CalendarConnection,
    Closure,
    Service,
    ServiceLocation,
    WorkingHours,
)
from calendars.tests import factories
from organisations.tenancy import CrossTenantError, tenant_transaction
from organisations.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

FACTORIES = {
    Service: factories.ServiceFactory,
    ServiceLocation: factories.ServiceLocationFactory,
    WorkingHours: factories.WorkingHoursFactory,
    Closure: factories.ClosureFactory,
    Appointment: factories.AppointmentFactory,
    CalendarConnection: factories.CalendarConnectionFactory,
    BusyBlock: factories.BusyBlockFactory,
}


def test_every_calendars_tenant_model_is_covered():
    from organisations.tenancy import tenant_models

    assert {m for m in tenant_models() if m._meta.app_label == "calendars"} == set(FACTORIES)


@pytest.mark.parametrize("model", FACTORIES, ids=lambda m: m.__name__)
def test_scoped_managers_never_return_another_organisations_rows(model, org, other_org):
    theirs = FACTORIES[model](organisation=other_org)
    with tenant_transaction(org):
        assert not model.objects.filter(pk=theirs.pk).exists()
        assert model.objects.count() == 0


@pytest.mark.parametrize(
    ("model", "field", "make_parent"),
    [
        (Appointment, "location", lambda org: LocationFactory(organisation=org)),
        (Appointment, "service", lambda org: factories.ServiceFactory(organisation=org)),
        (WorkingHours, "location", lambda org: LocationFactory(organisation=org)),
        (ServiceLocation, "service", lambda org: factories.ServiceFactory(organisation=org)),
        (
            BusyBlock,
            "connection",
            lambda org: factories.CalendarConnectionFactory(organisation=org),
        ),
        (CalendarConnection, "service", lambda org: factories.ServiceFactory(organisation=org)),
    ],
)
def test_a_row_cannot_point_at_another_organisations_parent(
    model, field, make_parent, org, other_org
):
    ours = FACTORIES[model](organisation=org)
    setattr(ours, field, make_parent(other_org))
    with tenant_transaction(org), pytest.raises(CrossTenantError):
        ours.save()


@pytest.mark.postgres
@pytest.mark.parametrize("model", FACTORIES, ids=lambda m: m.__name__)
def test_row_level_security_hides_other_organisations_rows(model, org, other_org):
    FACTORIES[model](organisation=other_org)
    ours = FACTORIES[model](organisation=org)
    table = connection.ops.quote_name(model._meta.db_table)
    role = connection.ops.quote_name(settings.DATABASE_APP_ROLE)
    with tenant_transaction(org), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(f"SELECT id FROM {table}")
        assert [row[0] for row in cursor.fetchall()] == [ours.pk]


@pytest.mark.postgres
def test_the_database_refuses_a_link_to_another_organisations_location(org, other_org):
    appointment = factories.AppointmentFactory(organisation=org)
    theirs = LocationFactory(organisation=other_org)

    def relink():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "UPDATE calendars_appointment SET location_id = %s WHERE id = %s",
                [theirs.pk, appointment.pk],
            )

    with pytest.raises(IntegrityError, match="same_org"):
        relink()
