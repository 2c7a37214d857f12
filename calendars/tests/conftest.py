"""Calendars fixtures: our organisation's London location, a Los Angeles one, a service, and
helpers to give a location opening hours. Tests that use the scoped managers run in `scope`."""

from datetime import time

import pytest

from calendars.tests.factories import ServiceFactory, WorkingHoursFactory
from organisations.models import Location
from organisations.tenancy import tenant_transaction
from organisations.tests.factories import LocationFactory

WEEKDAYS = range(5)


@pytest.fixture
def scope(org):
    """Run the test inside our organisation's tenant transaction."""
    with tenant_transaction(org):
        yield org


@pytest.fixture
def london(org):
    return Location.all_organisations.get(organisation=org, name="Camden")


@pytest.fixture
def los_angeles(org):
    return LocationFactory(organisation=org, name="Venice Beach", timezone="America/Los_Angeles")


@pytest.fixture
def service(org):
    return ServiceFactory(
        organisation=org, name="Check-up", duration=30, slot_interval=30, min_notice=0
    )


def open_hours(location, *intervals, weekdays=WEEKDAYS):
    """Give `location` the same opening intervals ("09:00", "17:00") on each of `weekdays`."""
    for weekday in weekdays:
        for opens, closes in intervals:
            WorkingHoursFactory(
                organisation=location.organisation,
                location=location,
                weekday=weekday,
                start_time=time.fromisoformat(opens),
                end_time=time.fromisoformat(closes),
            )
