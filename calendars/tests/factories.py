from datetime import UTC, datetime, time, timedelta

import factory

from calendars.models import (
    Appointment,
    BusyBlock,
    CalendarConnection,
    Closure,
    Service,
    ServiceLocation,
    WorkingHours,
)
from organisations.tests.factories import LocationFactory, OrganisationFactory, TenantFactory

SAME_ORGANISATION = factory.SelfAttribute("..organisation")


class ServiceFactory(TenantFactory):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Check-up {n}")
    duration = 30
    min_notice = 0
    booking_horizon = 365


class ServiceLocationFactory(TenantFactory):
    class Meta:
        model = ServiceLocation

    organisation = factory.SubFactory(OrganisationFactory)
    service = factory.SubFactory(ServiceFactory, organisation=SAME_ORGANISATION)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)


class WorkingHoursFactory(TenantFactory):
    class Meta:
        model = WorkingHours

    organisation = factory.SubFactory(OrganisationFactory)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    weekday = 0
    start_time = time(9)
    end_time = time(17)


class ClosureFactory(TenantFactory):
    class Meta:
        model = Closure

    organisation = factory.SubFactory(OrganisationFactory)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    start_date = factory.LazyFunction(lambda: datetime.now(UTC).date() + timedelta(days=7))
    end_date = factory.SelfAttribute("start_date")
    reason = "Bank holiday"


class AppointmentFactory(TenantFactory):
    """An appointment whose times and buffers follow its service (pass `start_at` only)."""

    class Meta:
        model = Appointment

    organisation = factory.SubFactory(OrganisationFactory)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    service = factory.SubFactory(ServiceFactory, organisation=SAME_ORGANISATION)
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+1415556{n % 10000:04d}")
    start_at = factory.LazyFunction(
        lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    )
    end_at = factory.LazyAttribute(lambda o: o.start_at + o.service.length)
    blocked_start = factory.LazyAttribute(lambda o: o.start_at - o.service.before)
    blocked_end = factory.LazyAttribute(lambda o: o.end_at + o.service.after)
    source = Appointment.Source.DASHBOARD


class CalendarConnectionFactory(TenantFactory):
    class Meta:
        model = CalendarConnection

    organisation = factory.SubFactory(OrganisationFactory)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    provider = CalendarConnection.Provider.GOOGLE
    account = "reception@clinic.example"
    access_token = "ya29.access-token-for-tests"
    refresh_token = "1//refresh-token-for-tests"
    token_expires_at = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(hours=1))
    calendar_id = "primary"


class BusyBlockFactory(TenantFactory):
    class Meta:
        model = BusyBlock

    organisation = factory.SubFactory(OrganisationFactory)
    connection = factory.SubFactory(CalendarConnectionFactory, organisation=SAME_ORGANISATION)
    location = factory.SelfAttribute("connection.location")
    start_at = factory.LazyFunction(
        lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    )
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=1))
