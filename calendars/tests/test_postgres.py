"""What only PostgreSQL enforces: the no-overlap exclusion constraint, row-level security on the
calendars tables, and concurrent bookings on separate connections."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from calendars.booking import SlotUnavailable, book_appointment
from calendars.models import Appointment, BusyBlock, Service
from calendars.tests.conftest import open_hours
from calendars.tests.factories import (
    AppointmentFactory,
    BusyBlockFactory,
    ServiceFactory,
)
from organisations.tenancy import tenant_transaction
from organisations.tests.factories import LocationFactory

pytestmark = pytest.mark.postgres

LONDON = ZoneInfo("Europe/London")
START = datetime(2031, 6, 2, 9, tzinfo=UTC)


def insert(org, location, service, start, **kwargs):
    with transaction.atomic():
        return AppointmentFactory(
            organisation=org, location=location, service=service, start_at=start, **kwargs
        )


@pytest.mark.django_db
class TestExclusionConstraint:
    def test_overlapping_appointments_at_a_location_are_refused(self, org, london, service):
        insert(org, london, service, START)
        with pytest.raises(IntegrityError, match="appointment_no_overlap"):
            insert(org, london, service, START + timedelta(minutes=15))

    def test_buffers_count_and_back_to_back_is_fine(self, org, london):
        cleaning = ServiceFactory(organisation=org, duration=30, buffer_after=10)
        insert(org, london, cleaning, START)
        with pytest.raises(IntegrityError):
            insert(org, london, cleaning, START + timedelta(minutes=35))
        insert(org, london, cleaning, START + timedelta(minutes=40))

    def test_cancelled_and_other_locations_do_not_conflict(self, org, london, service):
        insert(org, london, service, START, status=Appointment.Status.CANCELLED)
        insert(org, london, service, START)
        insert(org, LocationFactory(organisation=org), service, START)
        assert Appointment.all_organisations.count() == 3


@pytest.mark.django_db
def test_row_level_security_hides_other_organisations_calendars(org, other_org, london):
    ours = AppointmentFactory(organisation=org, location=london)
    theirs = AppointmentFactory(organisation=other_org)
    BusyBlockFactory(organisation=other_org)
    tables = [Appointment._meta.db_table, BusyBlock._meta.db_table, Service._meta.db_table]
    with tenant_transaction(org), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}")
        cursor.execute(f"SELECT id FROM {tables[0]}")
        assert [row[0] for row in cursor.fetchall()] == [ours.pk]
        for table in tables[1:]:
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE organisation_id = %s", [other_org.pk]
            )
            assert cursor.fetchone()[0] == 0
        with pytest.raises(Exception, match="row-level security"), transaction.atomic():
            cursor.execute(
                f"UPDATE {tables[0]} SET organisation_id = %s WHERE id = %s",
                [other_org.pk, ours.pk],
            )
    assert theirs.pk != ours.pk


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_of_one_slot_give_one_appointment(org, london):
    service = ServiceFactory(organisation=org, duration=30, slot_interval=30, min_notice=0)
    open_hours(london, ("09:00", "17:00"), weekdays=range(7))
    day = datetime.now(UTC).date() + timedelta(days=10)
    start = datetime.combine(day, time(10), tzinfo=LONDON)
    barrier = threading.Barrier(20)

    def attempt(n):
        try:
            barrier.wait()
            with tenant_transaction(org):
                return book_appointment(
                    location=london,
                    service=service,
                    start=start,
                    name=f"Caller {n}",
                    phone=f"+4477009{n:05d}",
                )
        except SlotUnavailable as refusal:
            return refusal
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))

    booked = [r for r in results if isinstance(r, Appointment)]
    refused = [r for r in results if isinstance(r, SlotUnavailable)]
    assert len(booked) == 1
    assert len(refused) == 19
    for refusal in refused:
        assert str(refusal) == "That time is not available."
        assert len(refusal.alternatives) == 3
        assert all(slot.start != start for slot in refusal.alternatives)
    assert Appointment.all_organisations.filter(organisation=org).count() == 1
