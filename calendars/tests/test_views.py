"""The dashboard pages, as the clinic's team uses them."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calendars.models import Appointment, CalendarConnection, Closure, Service, WorkingHours
from calendars.tests.conftest import open_hours
from calendars.tests.factories import (
    AppointmentFactory,
    CalendarConnectionFactory,
    ClosureFactory,
    ServiceFactory,
)
from organisations.models import AuditEvent, Customer

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=7 - today.weekday() + 7)


DAY = next_monday()


@pytest.fixture
def clinic(london, service):
    open_hours(london, ("09:00", "12:00"))
    return london


@pytest.mark.parametrize(
    "name",
    [
        "calendars:appointments",
        "calendars:week",
        "calendars:availability",
        "calendars:appointment_create",
        "calendars:services",
        "calendars:service_create",
        "calendars:hours",
        "calendars:closure_create",
        "calendars:integrations",
    ],
)
def test_owner_sees_every_calendars_page(client_for, owner, clinic, name):
    AppointmentFactory(organisation=owner.memberships.get().organisation, location=clinic)
    response = client_for(owner).get(reverse(name))
    assert response.status_code == 200
    assert b"Bright Smile Dental" in response.content


def book_form(clinic, service, hhmm="10:00", **extra):
    return {
        "location": clinic.pk,
        "service": service.pk,
        "date": DAY.isoformat(),
        "time": hhmm,
        "name": "Olivia Bennett",
        "phone": "07911 123456",
        "email": "",
        "language": "en",
        "urgency": "normal",
        "notes": "",
        "request_key": "form-1",
        **extra,
    }


class TestBookingFromTheDashboard:
    def test_staff_book_in_the_locations_time(self, client_for, staff, clinic, service):
        response = client_for(staff).post(
            reverse("calendars:appointment_create"), book_form(clinic, service)
        )

        appointment = Appointment.all_organisations.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("calendars:appointment", args=[appointment.pk])
        assert appointment.start_at == datetime.combine(DAY, time(10), tzinfo=LONDON)
        assert appointment.source == Appointment.Source.DASHBOARD
        assert appointment.phone == "+447911123456"
        assert appointment.customer == Customer.all_organisations.get(phone="+447911123456")

    def test_a_double_submitted_form_books_once(self, client_for, staff, clinic, service):
        client = client_for(staff)
        client.post(reverse("calendars:appointment_create"), book_form(clinic, service))
        client.post(reverse("calendars:appointment_create"), book_form(clinic, service))
        assert Appointment.all_organisations.count() == 1

    def test_a_taken_time_shows_why_and_nearby_free_times(self, client_for, staff, clinic, service):
        client = client_for(staff)
        client.post(reverse("calendars:appointment_create"), book_form(clinic, service))

        response = client.post(
            reverse("calendars:appointment_create"),
            book_form(clinic, service, "10:15", request_key="form-2", phone="07911 123457"),
        )

        assert response.status_code == 200
        page = response.content.decode()
        assert "That time is not available." in page
        assert f'name="alternative" value="{DAY.isoformat()}T10:30"' in page
        assert Appointment.all_organisations.count() == 1

        # Choosing an offered time books it with everything else that was typed.
        form = book_form(clinic, service, "10:15", request_key="form-2", phone="07911 123457")
        client.post(
            reverse("calendars:appointment_create"),
            {**form, "alternative": f"{DAY.isoformat()}T10:30"},
        )
        chosen = Appointment.all_organisations.get(phone="+447911123457")
        assert chosen.start_at == datetime.combine(DAY, time(10, 30), tzinfo=LONDON)

    def test_viewers_cannot_book(self, client_for, viewer, clinic, service):
        response = client_for(viewer).post(
            reverse("calendars:appointment_create"), book_form(clinic, service)
        )
        assert response.status_code == 403
        assert not Appointment.all_organisations.exists()


class TestChangingAnAppointment:
    @pytest.fixture
    def appointment(self, org, clinic, service):
        return AppointmentFactory(
            organisation=org,
            location=clinic,
            service=service,
            start_at=datetime.combine(DAY, time(10), tzinfo=LONDON),
        )

    def test_detail_shows_local_times(self, client_for, viewer, appointment):
        page = client_for(viewer).get(reverse("calendars:appointment", args=[appointment.pk]))
        assert "10:00\u201310:30" in page.content.decode()

    def test_reschedule(self, client_for, staff, appointment):
        response = client_for(staff).post(
            reverse("calendars:appointment_reschedule", args=[appointment.pk]),
            {"date": DAY.isoformat(), "time": "11:00"},
        )
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert appointment.start_at == datetime.combine(DAY, time(11), tzinfo=LONDON)

    def test_reschedule_to_a_closed_time_is_refused(self, client_for, staff, appointment):
        response = client_for(staff).post(
            reverse("calendars:appointment_reschedule", args=[appointment.pk]),
            {"date": DAY.isoformat(), "time": "19:00"},
        )
        assert response.status_code == 200
        assert b"That time is not available." in response.content

    def test_cancel_with_a_reason(self, client_for, staff, appointment):
        client_for(staff).post(
            reverse("calendars:appointment_cancel", args=[appointment.pk]), {"reason": "Ill"}
        )
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CANCELLED
        assert appointment.cancellation_reason == "Ill"

    def test_completing_a_future_appointment_is_explained(self, client_for, staff, appointment):
        response = client_for(staff).post(
            reverse("calendars:appointment_complete", args=[appointment.pk]), follow=True
        )
        assert b"has not started yet" in response.content
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CONFIRMED

    def test_complete_and_no_show_after_the_start(self, client_for, staff, org, clinic, service):
        past = AppointmentFactory(
            organisation=org,
            location=clinic,
            service=service,
            start_at=datetime.now(UTC) - timedelta(hours=3),
        )
        client = client_for(staff)
        client.post(reverse("calendars:appointment_no_show", args=[past.pk]))
        past.refresh_from_db()
        assert past.status == Appointment.Status.NO_SHOW
        client.post(reverse("calendars:appointment_complete", args=[past.pk]))
        past.refresh_from_db()
        assert past.status == Appointment.Status.COMPLETED


def test_week_view_puts_appointments_on_their_local_day(client_for, viewer, org, clinic, service):
    # 23:30 UTC on Monday is 00:30 on Tuesday in London (summer) or 23:30 Monday (winter).
    late = datetime.combine(DAY, time(23, 30), tzinfo=UTC)
    AppointmentFactory(
        organisation=org, location=clinic, service=service, start_at=late, name="Night Owl"
    )
    response = client_for(viewer).get(reverse("calendars:week"), {"start": DAY.isoformat()})
    local = late.astimezone(LONDON)
    columns = response.context["columns"]
    day = next(column for column in columns if column["date"] == local.date())
    assert [a.name for a in day["appointments"]] == ["Night Owl"]
    assert f"{local:%H:%M}" in response.content.decode()


def test_pages_run_the_same_queries_whatever_the_data(client_for, viewer, org, clinic, service):
    client = client_for(viewer)

    def queries(url, params):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, params).status_code == 200
        return len(captured)

    pages = [
        (reverse("calendars:appointments"), {}),
        (reverse("calendars:week"), {"start": DAY.isoformat()}),
        (
            reverse("calendars:availability"),
            {"location": clinic.pk, "service": service.pk, "date": DAY.isoformat()},
        ),
    ]
    AppointmentFactory(
        organisation=org,
        location=clinic,
        service=service,
        start_at=datetime.combine(DAY, time(11), tzinfo=LONDON),
    )
    # First visits fill per-organisation caches (e.g. the billing banner); measure warm pages.
    for url, params in pages:
        queries(url, params)
    before = [queries(url, params) for url, params in pages]
    for n in range(12):
        AppointmentFactory(
            organisation=org,
            location=clinic,
            service=service,
            start_at=datetime.combine(DAY + timedelta(days=n % 5), time(9), tzinfo=LONDON)
            + timedelta(minutes=30 * (n // 5)),
        )
    assert [queries(url, params) for url, params in pages] == before


def test_free_times_link_to_a_prefilled_booking(client_for, staff, clinic, service):
    response = client_for(staff).get(
        reverse("calendars:availability"),
        {"location": clinic.pk, "service": service.pk, "date": DAY.isoformat()},
    )
    page = response.content.decode()
    assert f"date={DAY.isoformat()}&amp;time=09:00" in page
    assert f"date={DAY.isoformat()}&amp;time=11:30" in page


class TestSettings:
    def test_admin_adds_a_service_offered_at_one_location(self, client_for, admin_user, london):
        response = client_for(admin_user).post(
            reverse("calendars:service_create"),
            {
                "name": "Hygienist",
                "duration": 45,
                "buffer_before": 0,
                "buffer_after": 10,
                "min_notice": 60,
                "booking_horizon": 30,
                "slot_interval": 15,
                "active": "on",
                "offered_at": [london.pk],
            },
        )
        assert response.status_code == 302
        service = Service.all_organisations.get(name="Hygienist")
        assert list(service.locations.all()) == [london]
        assert AuditEvent.all_organisations.filter(action="service.created").exists()

    def test_service_names_are_unique_per_organisation(
        self, client_for, admin_user, org, other_org
    ):
        ServiceFactory(organisation=other_org, name="Check-up")
        ServiceFactory(organisation=org, name="Filling")
        form = {
            "duration": 30,
            "buffer_before": 0,
            "buffer_after": 0,
            "min_notice": 0,
            "booking_horizon": 30,
            "slot_interval": 15,
        }
        client = client_for(admin_user)
        assert (
            client.post(
                reverse("calendars:service_create"), {**form, "name": "Check-up"}
            ).status_code
            == 302
        )
        response = client.post(reverse("calendars:service_create"), {**form, "name": "Filling"})
        assert b"There is already a service with this name." in response.content

    def test_staff_cannot_change_services(self, client_for, staff):
        assert client_for(staff).get(reverse("calendars:service_create")).status_code == 403

    def test_opening_hours_editor(self, client_for, admin_user, london):
        url = reverse("calendars:hours_edit", args=[london.pk])
        form = {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "0",
            "form-0-weekday": "0",
            "form-0-start_time": "09:00",
            "form-0-end_time": "12:30",
            "form-1-weekday": "0",
            "form-1-start_time": "13:30",
            "form-1-end_time": "17:00",
        }
        client = client_for(admin_user)
        assert client.post(url, form).status_code == 302
        rows = WorkingHours.all_organisations.filter(location=london).order_by("start_time")
        assert [(r.start_time, r.end_time) for r in rows] == [
            (time(9), time(12, 30)),
            (time(13, 30), time(17)),
        ]

        first = rows[0]
        response = client.post(
            url,
            {
                "form-TOTAL_FORMS": "2",
                "form-INITIAL_FORMS": "2",
                "form-0-id": first.pk,
                "form-0-weekday": "0",
                "form-0-start_time": "09:00",
                "form-0-end_time": "08:00",
                "form-1-id": rows[1].pk,
                "form-1-weekday": "0",
                "form-1-start_time": "13:30",
                "form-1-end_time": "17:00",
                "form-1-DELETE": "on",
            },
        )
        assert b"Closing time must be after opening time." in response.content
        assert WorkingHours.all_organisations.filter(location=london).count() == 2

    def test_closures_are_added_and_removed(self, client_for, admin_user, london):
        client = client_for(admin_user)
        response = client.post(
            reverse("calendars:closure_create"),
            {
                "location": london.pk,
                "start_date": DAY.isoformat(),
                "end_date": DAY.isoformat(),
                "start_time": "13:00",
                "reason": "Training",
            },
        )
        assert response.status_code == 302
        closure = Closure.all_organisations.get()
        assert (closure.start_time, closure.end_time) == (time(13), None)
        assert b"Training" in client.get(reverse("calendars:hours")).content
        client.post(reverse("calendars:closure_delete", args=[closure.pk]))
        assert not Closure.all_organisations.exists()

    def test_a_closure_that_ends_before_it_starts_is_refused(self, client_for, admin_user):
        response = client_for(admin_user).post(
            reverse("calendars:closure_create"),
            {
                "start_date": DAY.isoformat(),
                "end_date": DAY.isoformat(),
                "start_time": "13:00",
                "end_time": "12:00",
            },
        )
        assert b"The closure must end after it starts." in response.content
        assert not Closure.all_organisations.exists()


class TestIntegrationsPage:
    def test_without_a_connection_the_built_in_calendar_is_enough(self, client_for, admin_user):
        page = client_for(admin_user).get(reverse("calendars:integrations")).content.decode()
        assert "No calendar connected" in page
        assert "Google sign-in is not set up on this server" in page
        assert "https://frontdesk.test/webhooks/calcom/" in page

    def test_staff_do_not_manage_integrations(self, client_for, staff):
        assert client_for(staff).get(reverse("calendars:integrations")).status_code == 403

    def test_google_calendar_id_can_be_changed(self, client_for, admin_user, org, london):
        connection = CalendarConnectionFactory(organisation=org, location=london)
        response = client_for(admin_user).post(
            reverse("calendars:connection_edit", args=[connection.pk]),
            {"calendar_id": "frontdesk@group.calendar.google.com"},
        )
        assert response.status_code == 302
        connection.refresh_from_db()
        assert connection.calendar_id == "frontdesk@group.calendar.google.com"

    def test_connections_show_status_and_last_error(self, client_for, admin_user, org, london):
        CalendarConnectionFactory(
            organisation=org,
            location=london,
            status=CalendarConnection.Status.ERROR,
            last_error="Google free/busy: notFound",
        )
        page = client_for(admin_user).get(reverse("calendars:integrations")).content.decode()
        assert "Google free/busy: notFound" in page
        assert "Sync now" in page


def test_closures_of_every_location_show_in_the_week(client_for, viewer, org, clinic):
    ClosureFactory(
        organisation=org, location=None, start_date=DAY, end_date=DAY, reason="Bank holiday"
    )
    page = client_for(viewer).get(reverse("calendars:week"), {"start": DAY.isoformat()}).content
    assert b"Bank holiday" in page
