"""Cal.com API v2 with its HTTP mocked at the transport (`responses`), in the documented shapes:
/v2/me, /v2/slots (cal-api-version 2024-09-04), /v2/bookings (2024-08-13), the OAuth token
endpoint."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.urls import reverse

from calendars import oauth
from calendars.booking import book_appointment, cancel_appointment, reschedule_appointment
from calendars.models import BusyBlock, CalendarConnection
from calendars.providers import calcom
from calendars.tasks import push_appointment, sync_busy_times
from calendars.tests.conftest import open_hours
from calendars.tests.factories import CalendarConnectionFactory

pytestmark = pytest.mark.django_db

ME = f"{calcom.API}/me"
SLOTS = f"{calcom.API}/slots"
BOOKINGS = f"{calcom.API}/bookings"


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def me(email="frontdesk@brightsmile.example"):
    return {"status": "success", "data": {"id": 42, "email": email, "username": "brightsmile"}}


def booking_output(uid, start, status="accepted", **extra):
    return {
        "status": "success",
        "data": {
            "id": 91,
            "uid": uid,
            "title": "Check-up between Bright Smile and Ada",
            "status": status,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
            "duration": 30,
            "eventTypeId": 1234,
            "attendees": [
                {"name": "Ada", "email": "ada@mail.example", "timeZone": "Europe/London"}
            ],
            **extra,
        },
    }


@pytest.fixture
def connection(org, london, service):
    return CalendarConnectionFactory(
        organisation=org,
        location=london,
        provider=CalendarConnection.Provider.CALCOM,
        auth_method=CalendarConnection.AuthMethod.API_KEY,
        access_token="cal_live_0123456789abcdef",
        refresh_token="",
        token_expires_at=None,
        calendar_id="",
        event_type_id="1234",
        service=service,
    )


def test_connect_with_an_api_key(
    client_for, admin_user, london, service, mocked, django_capture_on_commit_callbacks
):
    mocked.get(ME, json=me())
    mocked.get(SLOTS, json={"status": "success", "data": {}})

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(
            reverse("calendars:calcom_connect"),
            {
                "location": london.pk,
                "api_key": " cal_live_0123456789abcdef ",
                "event_type_id": "1234",
                "service": service.pk,
            },
        )

    assert response.status_code == 302
    connection = CalendarConnection.all_organisations.get()
    assert connection.auth_method == CalendarConnection.AuthMethod.API_KEY
    assert connection.access_token == "cal_live_0123456789abcdef"
    assert connection.account == "frontdesk@brightsmile.example"
    assert (connection.event_type_id, connection.service) == ("1234", service)
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer cal_live_0123456789abcdef"
    slots_call = mocked.calls[1].request
    assert slots_call.headers["cal-api-version"] == "2024-09-04"
    query = parse_qs(urlparse(slots_call.url).query)
    assert query["eventTypeId"] == ["1234"]
    assert query["format"] == ["range"]
    assert query["start"][0].endswith("Z")


def test_a_refused_api_key_is_a_form_error(client_for, admin_user, london, service, mocked):
    mocked.get(
        ME,
        status=401,
        json={
            "status": "error",
            "error": {"code": "UnauthorizedException", "message": "Invalid API Key"},
        },
    )
    response = client_for(admin_user).post(
        reverse("calendars:calcom_connect"),
        {
            "location": london.pk,
            "api_key": "cal_live_wrong",
            "event_type_id": "1",
            "service": service.pk,
        },
    )
    assert response.status_code == 400
    assert b"Cal.com did not accept this API key." in response.content
    assert not CalendarConnection.all_organisations.exists()


def test_time_without_cal_com_slots_is_busy(connection, mocked, django_capture_on_commit_callbacks):
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    mocked.get(
        SLOTS,
        json={
            "status": "success",
            "data": {
                day: [
                    {"start": f"{day}T09:00:00.000Z", "end": f"{day}T09:30:00.000Z"},
                    {"start": f"{day}T09:30:00.000Z", "end": f"{day}T10:00:00.000Z"},
                    {"start": f"{day}T11:00:00.000Z", "end": f"{day}T11:30:00.000Z"},
                ]
            },
        },
    )

    with django_capture_on_commit_callbacks(execute=True):
        sync_busy_times()

    blocks = [
        (b.start_at.isoformat(), b.end_at.isoformat()) for b in BusyBlock.all_organisations.all()
    ]
    assert (f"{day}T10:00:00+00:00", f"{day}T11:00:00+00:00") in blocks
    assert all(not (start < f"{day}T09:30" < end) for start, end in blocks)
    assert len(blocks) == 3  # before 09:00, 10:00-11:00, after 11:30


@pytest.fixture
def bookable(scope, london, connection):
    open_hours(london, ("00:00", "23:59"), weekdays=range(7))
    return london


def free_slots_around(start):
    day = start.date().isoformat()
    return {
        "status": "success",
        "data": {day: [{"start": f"{day}T00:00:00.000Z", "end": f"{day}T23:59:00.000Z"}]},
    }


def start_in(days=3):
    return datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(
        days=days
    )


def test_bookings_are_created_moved_and_cancelled_in_utc(
    bookable, service, mocked, django_capture_on_commit_callbacks
):
    start = start_in()
    mocked.get(SLOTS, json=free_slots_around(start))
    mocked.post(BOOKINGS, status=201, json=booking_output("uid-first", start))
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(
            location=bookable, service=service, start=start, name="Ada", phone="+447700900111"
        )
    created = mocked.calls[-1].request
    assert created.headers["cal-api-version"] == "2024-08-13"
    body = json.loads(created.body)
    assert body["start"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert body["eventTypeId"] == 1234
    assert body["attendee"]["timeZone"] == "Europe/London"
    assert body["attendee"]["phoneNumber"] == "+447700900111"
    assert body["attendee"]["email"].endswith("@no-email.invalid")
    assert body["metadata"] == {"frontdesk_appointment_id": str(appointment.pk)}
    appointment.refresh_from_db()
    assert appointment.calcom_booking_uid == "uid-first"

    later = start + timedelta(hours=2)
    mocked.get(f"{BOOKINGS}/uid-first", json=booking_output("uid-first", start))
    mocked.post(
        f"{BOOKINGS}/uid-first/reschedule",
        status=201,
        json=booking_output("uid-second", later, rescheduledFromUid="uid-first"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        moved = reschedule_appointment(appointment, later)
    assert json.loads(mocked.calls[-1].request.body)["start"] == later.strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    moved.refresh_from_db()
    assert moved.calcom_booking_uid == "uid-second"

    mocked.get(f"{BOOKINGS}/uid-second", json=booking_output("uid-second", later))
    mocked.post(
        f"{BOOKINGS}/uid-second/cancel",
        json=booking_output("uid-second", later, status="cancelled"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(moved, reason="Feeling better")
    assert json.loads(mocked.calls[-1].request.body) == {"cancellationReason": "Feeling better"}
    assert all(
        c.request.headers["cal-api-version"] == "2024-08-13"
        for c in mocked.calls
        if "/bookings" in c.request.url
    )


def test_pushing_again_changes_nothing(
    bookable, service, mocked, org, django_capture_on_commit_callbacks
):
    start = start_in()
    mocked.get(SLOTS, json=free_slots_around(start))
    mocked.post(BOOKINGS, status=201, json=booking_output("uid-first", start))
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(location=bookable, service=service, start=start, name="Ada")
    mocked.get(f"{BOOKINGS}/uid-first", json=booking_output("uid-first", start))

    push_appointment.apply(
        kwargs={
            "organisation_id": str(org.pk),
            "appointment_id": str(appointment.pk),
            "connection_id": str(CalendarConnection.objects.get().pk),
        }
    )

    assert [c.request.method for c in mocked.calls if "/bookings" in c.request.url] == [
        "POST",
        "GET",
    ]


class TestOAuth:
    @pytest.fixture(autouse=True)
    def calcom_app(self, settings):
        settings.CALCOM_CLIENT_ID = "calcom-client-id"
        settings.CALCOM_CLIENT_SECRET = "calcom-client-secret"

    def test_connect_and_callback(self, client_for, admin_user, london, service, mocked):
        client = client_for(admin_user)
        response = client.post(
            reverse("calendars:calcom_oauth_connect"),
            {"location": london.pk, "event_type_id": "1234", "service": service.pk},
        )
        redirect = urlparse(response["Location"])
        assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == calcom.AUTHORIZE_URL
        query = parse_qs(redirect.query)
        assert query["redirect_uri"] == ["https://frontdesk.test/integrations/calcom/callback/"]
        mocked.post(
            calcom.TOKEN_URL,
            json={
                "access_token": "cal-oauth-access",
                "refresh_token": "cal-oauth-refresh",
                "expires_in": 1800,
                "token_type": "bearer",
            },
        )
        mocked.get(ME, json=me())

        client.get(
            reverse("calendars:calcom_callback"), {"state": query["state"][0], "code": "abc"}
        )

        sent = parse_qs(mocked.calls[0].request.body)
        assert sent["grant_type"] == ["authorization_code"]
        assert sent["client_secret"] == ["calcom-client-secret"]
        connection = CalendarConnection.all_organisations.get()
        assert connection.auth_method == CalendarConnection.AuthMethod.OAUTH
        assert (connection.access_token, connection.refresh_token) == (
            "cal-oauth-access",
            "cal-oauth-refresh",
        )
        assert (connection.event_type_id, connection.service) == ("1234", service)
        assert oauth.SESSION_KEY not in client.session

    def test_an_expiring_token_is_refreshed_before_the_call(
        self, connection, mocked, django_capture_on_commit_callbacks
    ):
        CalendarConnection.all_organisations.filter(pk=connection.pk).update(
            auth_method=CalendarConnection.AuthMethod.OAUTH,
            token_expires_at=datetime.now(UTC) + timedelta(seconds=30),
            refresh_token="cal-oauth-refresh",
        )
        mocked.post(
            calcom.TOKEN_URL,
            json={"access_token": "fresh", "refresh_token": "rotated", "expires_in": 1800},
        )
        mocked.get(SLOTS, json={"status": "success", "data": {}})

        with django_capture_on_commit_callbacks(execute=True):
            sync_busy_times()

        assert mocked.calls[1].request.headers["Authorization"] == "Bearer fresh"
        connection.refresh_from_db()
        assert connection.refresh_token == "rotated"

    def test_a_revoked_grant_needs_reconnecting(
        self, connection, owner, mocked, django_capture_on_commit_callbacks
    ):
        CalendarConnection.all_organisations.filter(pk=connection.pk).update(
            auth_method=CalendarConnection.AuthMethod.OAUTH,
            token_expires_at=datetime.now(UTC) + timedelta(seconds=30),
            refresh_token="old",
        )
        mocked.post(calcom.TOKEN_URL, status=400, json={"error": "invalid_grant"})

        with django_capture_on_commit_callbacks(execute=True):
            sync_busy_times()

        connection.refresh_from_db()
        assert connection.status == CalendarConnection.Status.NEEDS_REAUTH
