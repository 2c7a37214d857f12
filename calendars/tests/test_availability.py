from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendars.availability import find_free_slots, is_bookable, nearest_free_slots
from calendars.models import Appointment
from calendars.tests.conftest import open_hours
from calendars.tests.factories import (
    AppointmentFactory,
    BusyBlockFactory,
    CalendarConnectionFactory,
    ClosureFactory,
    ServiceFactory,
    ServiceLocationFactory,
)
from organisations.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
LA = ZoneInfo("America/Los_Angeles")
MONDAY = date(2026, 6, 1)  # British Summer Time: 09:00 local is 08:00 UTC
EARLY = datetime(2026, 5, 1, tzinfo=UTC)


def local(day, hhmm, zone=LONDON):
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=zone)


def starts(slots, zone=LONDON):
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in slots]


def test_slots_follow_opening_hours_in_local_time(scope, london, service):
    open_hours(london, ("09:00", "12:30"), ("13:30", "17:00"))

    slots = find_free_slots(london, service, MONDAY, MONDAY, now=EARLY)

    assert starts(slots) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00",
        "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30",
    ]  # fmt: skip
    assert slots[0].start == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert all(
        slot.start.tzinfo is UTC and slot.end - slot.start == timedelta(minutes=30)
        for slot in slots
    )


def test_closed_days_and_weekends_have_no_slots(scope, london, service):
    open_hours(london, ("09:00", "17:00"))
    saturday, sunday = MONDAY + timedelta(days=5), MONDAY + timedelta(days=6)
    assert find_free_slots(london, service, saturday, sunday, now=EARLY) == []


def test_appointments_and_their_buffers_take_time(scope, org, london):
    open_hours(london, ("09:00", "12:00"))
    cleaning = ServiceFactory(organisation=org, duration=30, buffer_after=15, slot_interval=15)
    AppointmentFactory(
        organisation=org, location=london, service=cleaning, start_at=local(MONDAY, "10:00")
    )
    prepared = ServiceFactory(organisation=org, duration=30, buffer_before=15, slot_interval=15)

    slots = find_free_slots(london, prepared, MONDAY, MONDAY, now=EARLY)

    # Taken: 10:00-10:45 with its cleaning. A prepared visit also needs 15 free minutes before it
    # (which may fall before opening time), and back-to-back is fine.
    assert starts(slots) == ["09:00", "09:15", "09:30", "11:00", "11:15", "11:30"]


def test_cancelled_appointments_free_their_time(scope, org, london, service):
    open_hours(london, ("09:00", "10:00"))
    AppointmentFactory(
        organisation=org,
        location=london,
        service=service,
        start_at=local(MONDAY, "09:00"),
        status=Appointment.Status.CANCELLED,
    )
    assert starts(find_free_slots(london, service, MONDAY, MONDAY, now=EARLY)) == [
        "09:00",
        "09:30",
    ]


def test_other_locations_appointments_do_not_count(scope, org, london, service):
    open_hours(london, ("09:00", "10:00"))
    elsewhere = LocationFactory(organisation=org, timezone="Europe/London")
    AppointmentFactory(
        organisation=org, location=elsewhere, service=service, start_at=local(MONDAY, "09:00")
    )
    assert len(find_free_slots(london, service, MONDAY, MONDAY, now=EARLY)) == 2


def test_external_busy_blocks_take_time(scope, org, london, service):
    open_hours(london, ("09:00", "11:00"))
    connection = CalendarConnectionFactory(organisation=org, location=london)
    BusyBlockFactory(
        organisation=org,
        connection=connection,
        start_at=local(MONDAY, "09:15"),
        end_at=local(MONDAY, "10:05"),
    )
    assert starts(find_free_slots(london, service, MONDAY, MONDAY, now=EARLY)) == ["10:30"]


def test_whole_day_partial_and_organisation_wide_closures(scope, org, london, service):
    open_hours(london, ("09:00", "12:00"))
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    ClosureFactory(organisation=org, location=london, start_date=MONDAY, end_date=MONDAY)
    ClosureFactory(
        organisation=org,
        location=london,
        start_date=tuesday,
        end_date=tuesday,
        start_time=time(10),
        end_time=time(11),
    )
    ClosureFactory(organisation=org, location=None, start_date=wednesday, end_date=wednesday)

    assert find_free_slots(london, service, MONDAY, MONDAY, now=EARLY) == []
    assert starts(find_free_slots(london, service, tuesday, tuesday, now=EARLY)) == [
        "09:00",
        "09:30",
        "11:00",
        "11:30",
    ]
    assert find_free_slots(london, service, wednesday, wednesday, now=EARLY) == []


def test_a_closure_spanning_days_ends_at_its_end_time(scope, org, london, service):
    open_hours(london, ("09:00", "12:00"))
    tuesday = MONDAY + timedelta(days=1)
    ClosureFactory(
        organisation=org,
        location=london,
        start_date=MONDAY,
        end_date=tuesday,
        start_time=time(11),
        end_time=time(10),
    )
    slots = find_free_slots(london, service, MONDAY, tuesday, now=EARLY)
    monday = [s for s in slots if s.start.astimezone(LONDON).date() == MONDAY]
    tue = [s for s in slots if s.start.astimezone(LONDON).date() == tuesday]
    assert starts(monday) == ["09:00", "09:30", "10:00", "10:30"]
    assert starts(tue) == ["10:00", "10:30", "11:00", "11:30"]


def test_minimum_notice_and_booking_horizon(scope, org, london):
    open_hours(london, ("09:00", "17:00"))
    service = ServiceFactory(
        organisation=org, duration=30, slot_interval=15, min_notice=60, booking_horizon=7
    )
    now = local(MONDAY, "10:05")

    slots = find_free_slots(london, service, MONDAY, MONDAY + timedelta(days=30), now=now)

    assert slots[0].start == local(MONDAY, "11:15")
    last_day = max(slot.start.astimezone(LONDON).date() for slot in slots)
    assert last_day == MONDAY + timedelta(days=7)


def test_limit_returns_the_first_slots(scope, london, service):
    open_hours(london, ("09:00", "17:00"))
    assert starts(find_free_slots(london, service, MONDAY, MONDAY, now=EARLY, limit=2)) == [
        "09:00",
        "09:30",
    ]


def test_inactive_or_not_offered_services_have_no_slots(scope, org, london, service):
    open_hours(london, ("09:00", "17:00"))
    inactive = ServiceFactory(organisation=org, active=False)
    elsewhere_only = ServiceFactory(organisation=org)
    ServiceLocationFactory(
        organisation=org, service=elsewhere_only, location=LocationFactory(organisation=org)
    )
    here_too = ServiceFactory(organisation=org)
    ServiceLocationFactory(organisation=org, service=here_too, location=london)

    assert find_free_slots(london, inactive, MONDAY, MONDAY, now=EARLY) == []
    assert find_free_slots(london, elsewhere_only, MONDAY, MONDAY, now=EARLY) == []
    assert find_free_slots(london, here_too, MONDAY, MONDAY, now=EARLY)


class TestDaylightSaving:
    """09:00 stays 09:00 local across the change; the UTC instant moves by the offset."""

    def test_london_spring_forward_weekend(self, scope, london, service):
        open_hours(london, ("09:00", "10:00"), weekdays=range(7))
        friday, sunday, monday = date(2026, 3, 27), date(2026, 3, 29), date(2026, 3, 30)
        now = datetime(2026, 3, 1, tzinfo=UTC)

        slots = find_free_slots(london, service, friday, monday, now=now)

        by_day = {}
        for slot in slots:
            by_day.setdefault(slot.start.astimezone(LONDON).date(), []).append(slot.start)
        assert by_day[friday][0] == datetime(2026, 3, 27, 9, tzinfo=UTC)  # GMT
        assert by_day[sunday][0] == datetime(2026, 3, 29, 8, tzinfo=UTC)  # BST from 01:00 UTC
        assert by_day[monday][0] == datetime(2026, 3, 30, 8, tzinfo=UTC)
        assert all(len(day) == 2 for day in by_day.values())

    def test_london_autumn_day_is_25_hours_long(self, scope, london, service):
        open_hours(london, ("00:00", "23:59"), weekdays=[6])
        sunday = date(2026, 10, 25)
        slots = find_free_slots(
            london, service, sunday, sunday, now=datetime(2026, 10, 1, tzinfo=UTC)
        )
        # 00:00 BST (23:00 UTC the day before) to 23:59 GMT is 24 h 59 min: 49 half-hour slots.
        assert len(slots) == 49
        assert slots[0].start == datetime(2026, 10, 24, 23, tzinfo=UTC)
        assert slots[-1].end <= datetime(2026, 10, 25, 23, 59, tzinfo=UTC)

    def test_los_angeles_spring_forward_and_fall_back(self, scope, los_angeles, service):
        open_hours(los_angeles, ("08:00", "09:00"), weekdays=[5, 6])
        now = datetime(2026, 2, 1, tzinfo=UTC)
        saturday, sunday = date(2026, 3, 7), date(2026, 3, 8)

        slots = find_free_slots(los_angeles, service, saturday, sunday, now=now)

        assert [s.start for s in slots] == [
            datetime(2026, 3, 7, 16, 0, tzinfo=UTC),  # PST, UTC-8
            datetime(2026, 3, 7, 16, 30, tzinfo=UTC),
            datetime(2026, 3, 8, 15, 0, tzinfo=UTC),  # PDT, UTC-7
            datetime(2026, 3, 8, 15, 30, tzinfo=UTC),
        ]
        autumn = find_free_slots(
            los_angeles, service, date(2026, 11, 1), date(2026, 11, 1), now=now
        )
        assert autumn[0].start == datetime(2026, 11, 1, 16, tzinfo=UTC)  # PST again
        assert starts(autumn, LA) == ["08:00", "08:30"]


def test_nearest_free_slots_surround_the_wanted_time(scope, org, london, service):
    open_hours(london, ("09:00", "12:00"))
    for hhmm in ("10:00", "10:30"):
        AppointmentFactory(
            organisation=org, location=london, service=service, start_at=local(MONDAY, hhmm)
        )

    nearest = nearest_free_slots(london, service, local(MONDAY, "10:00"), now=EARLY)

    assert starts(nearest) == ["09:00", "09:30", "11:00"]


def test_nearest_free_slots_widen_the_search_when_the_week_is_full(scope, london, service):
    open_hours(london, ("09:00", "10:00"), weekdays=[0])  # Mondays only
    nearest = nearest_free_slots(london, service, local(MONDAY, "09:00"), count=3, now=EARLY)
    assert [s.start.astimezone(LONDON).date() for s in nearest] == [
        MONDAY - timedelta(days=7),
        MONDAY,
        MONDAY,
    ]


class TestIsBookable:
    def test_any_minute_inside_free_time(self, scope, london, service):
        open_hours(london, ("09:00", "17:00"))
        assert is_bookable(london, service, local(MONDAY, "09:10"), now=EARLY)
        assert not is_bookable(london, service, local(MONDAY, "16:45"), now=EARLY)
        assert not is_bookable(london, service, local(MONDAY, "08:50"), now=EARLY)

    def test_taken_time_unless_it_is_the_appointment_being_moved(self, scope, org, london, service):
        open_hours(london, ("09:00", "17:00"))
        appointment = AppointmentFactory(
            organisation=org, location=london, service=service, start_at=local(MONDAY, "10:00")
        )
        assert not is_bookable(london, service, local(MONDAY, "10:15"), now=EARLY)
        assert is_bookable(london, service, local(MONDAY, "10:15"), now=EARLY, ignore=appointment)

    def test_past_and_too_soon(self, scope, org, london):
        open_hours(london, ("09:00", "17:00"))
        service = ServiceFactory(organisation=org, min_notice=120)
        now = local(MONDAY, "10:00")
        assert not is_bookable(london, service, local(MONDAY, "09:00"), now=now)
        assert not is_bookable(london, service, local(MONDAY, "11:30"), now=now)
        assert is_bookable(london, service, local(MONDAY, "12:00"), now=now)


@pytest.mark.parametrize("appointments", [1, 60])
def test_query_count_does_not_grow_with_the_data(
    scope, org, london, service, appointments, django_assert_max_num_queries
):
    open_hours(london, ("09:00", "17:00"), weekdays=range(7))
    connection = CalendarConnectionFactory(organisation=org, location=london)
    for n in range(appointments):
        day = MONDAY + timedelta(days=n % 14)
        AppointmentFactory(
            organisation=org,
            location=london,
            service=service,
            start_at=local(day, "09:00") + timedelta(minutes=30 * (n // 14)),
        )
        BusyBlockFactory(
            organisation=org,
            connection=connection,
            start_at=local(day, "16:00"),
            end_at=local(day, "16:30"),
        )
    ClosureFactory(organisation=org, location=london, start_date=MONDAY + timedelta(days=3))

    with django_assert_max_num_queries(5):
        slots = find_free_slots(london, service, MONDAY, MONDAY + timedelta(days=13), now=EARLY)
    assert slots
