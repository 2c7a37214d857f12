"""Google Calendar end to end, with Google's HTTP mocked at the transport (`responses`) in the
shapes Google documents: the OAuth token endpoint, freeBusy, events insert/patch/delete."""

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.db import connection as db
from django.urls import reverse

from calendars import oauth
from calendars.booking import (
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from calendars.models import Appointment, BusyBlock, CalendarConnection
from calendars.providers import google
from calendars.tasks import push_appointment, refresh_expiring_tokens, sync_busy_times
from calendars.tests.conftest import open_hours
from calendars.tests.factories import AppointmentFactory, CalendarConnectionFactory
from organisations.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db

TOKEN = google.TOKEN_URI
FREEBUSY = f"{google.API}/freeBusy"
EVENTS = f"{google.API}/calendars/primary/events"
CALLBACK = "https://frontdesk.test/integrations/google/callback/"


@pytest.fixture(autouse=True)
def google_app(settings):
    settings.GOOGLE_CLIENT_ID = "1234-frontdesk.apps.googleusercontent.com"
    settings.GOOGLE_CLIENT_SECRET = "GOCSPX-test-secret"


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def id_token(email):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://accounts.google.com", "email": email, "email_verified": True}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def token_response(scopes=google.SCOPES, **extra):
    return {
        "access_token": "ya29.a0-new-access-token",
        "expires_in": 3599,
        "refresh_token": "1//0g-refresh-token",
        "scope": " ".join(scopes),
        "token_type": "Bearer",
        "id_token": id_token("reception@brightsmile.example"),
        **extra,
    }


def form(call):
    body = call.request.body
    return parse_qs(body.decode() if isinstance(body, bytes) else body)


def google_error(status, reason, message):
    return {
        "error": {
            "errors": [{"domain": "usageLimits", "reason": reason, "message": message}],
            "code": status,
            "message": message,
        }
    }


# ---------------------------------------------------------------------------------------------
# Connecting


def start_connect(client, location):
    response = client.post(reverse("calendars:google_connect"), {"location": location.pk})
    assert response.status_code == 302
    return parse_qs(urlparse(response["Location"]).query)


def test_connect_sends_the_admin_to_google_for_offline_access_with_pkce(
    client_for, admin_user, london
):
    query = start_connect(client_for(admin_user), london)

    assert query["redirect_uri"] == [CALLBACK]
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"]
    assert set(query["scope"][0].split()) == set(google.SCOPES)
    assert query["state"][0]


def test_callback_stores_encrypted_tokens_and_the_account(client_for, admin_user, london, mocked):
    client = client_for(admin_user)
    state = start_connect(client, london)["state"][0]
    verifier = client.session[oauth.SESSION_KEY]["code_verifier"]
    mocked.post(TOKEN, json=token_response())

    response = client.get(reverse("calendars:google_callback"), {"state": state, "code": "4/0Ab"})

    assert response.status_code == 302
    sent = form(mocked.calls[0])
    assert sent["code"] == ["4/0Ab"]
    assert sent["code_verifier"] == [verifier]
    assert sent["redirect_uri"] == [CALLBACK]
    connection = CalendarConnection.all_organisations.get()
    assert connection.location == london
    assert connection.status == CalendarConnection.Status.CONNECTED
    assert connection.account == "reception@brightsmile.example"
    assert connection.access_token == "ya29.a0-new-access-token"
    assert connection.refresh_token == "1//0g-refresh-token"
    assert connection.token_expires_at > datetime.now(UTC) + timedelta(minutes=55)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM calendars_calendarconnection WHERE id = %s",
            [connection.pk.hex if db.vendor == "sqlite" else connection.pk],
        )
        stored = cursor.fetchone()
    assert "ya29" not in stored[0]
    assert "1//0g" not in stored[1]
    assert AuditEvent.all_organisations.filter(action="calendar.connected").exists()
    page = client.get(reverse("calendars:integrations")).content.decode()
    assert "reception@brightsmile.example" in page
    assert "1//0g-refresh-token" not in page
    assert "ya29.a0" not in page


class TestStateIsBoundToTheStart:
    def test_a_tampered_state_is_refused_before_any_token_request(
        self, client_for, admin_user, london, mocked
    ):
        client = client_for(admin_user)
        state = start_connect(client, london)["state"][0]

        response = client.get(
            reverse("calendars:google_callback"), {"state": state[:-2] + "xx", "code": "c"}
        )

        assert response.status_code == 302
        assert len(mocked.calls) == 0
        assert not CalendarConnection.all_organisations.exists()

    def test_a_replayed_callback_is_refused(self, client_for, admin_user, london, mocked):
        client = client_for(admin_user)
        state = start_connect(client, london)["state"][0]
        mocked.post(TOKEN, json=token_response())
        callback = reverse("calendars:google_callback")
        client.get(callback, {"state": state, "code": "c"})
        CalendarConnection.all_organisations.all().delete()

        response = client.get(callback, {"state": state, "code": "c"}, follow=True)

        assert len(mocked.calls) == 1
        assert not CalendarConnection.all_organisations.exists()
        assert b"already used" in response.content

    def test_a_state_started_by_another_user_is_refused(
        self, client_for, admin_user, owner, london, mocked
    ):
        state = start_connect(client_for(admin_user), london)["state"][0]
        other = client_for(owner)  # same browser client, now signed in as someone else
        response = other.get(reverse("calendars:google_callback"), {"state": state, "code": "c"})
        assert response.status_code == 302
        assert len(mocked.calls) == 0
        assert not CalendarConnection.all_organisations.exists()

    def test_a_state_from_another_organisation_is_refused(
        self, client_for, admin_user, outsider, london, mocked
    ):
        state = start_connect(client_for(admin_user), london)["state"][0]
        response = client_for(outsider).get(
            reverse("calendars:google_callback"), {"state": state, "code": "c"}
        )
        assert response.status_code in (302, 403)
        assert len(mocked.calls) == 0
        assert not CalendarConnection.all_organisations.exists()


def test_declined_consent_changes_nothing(client_for, admin_user, london, mocked):
    client = client_for(admin_user)
    state = start_connect(client, london)["state"][0]
    response = client.get(
        reverse("calendars:google_callback"),
        {"state": state, "error": "access_denied"},
        follow=True,
    )
    assert b"not allowed" in response.content
    assert not CalendarConnection.all_organisations.exists()


def test_unticked_calendar_access_is_explained_and_not_saved(
    client_for, admin_user, london, mocked
):
    client = client_for(admin_user)
    state = start_connect(client, london)["state"][0]
    mocked.post(TOKEN, json=token_response(scopes=google.SCOPES[:2]))
    response = client.get(
        reverse("calendars:google_callback"), {"state": state, "code": "c"}, follow=True
    )
    assert b"did not grant access to the calendar" in response.content
    assert not CalendarConnection.all_organisations.exists()


# ---------------------------------------------------------------------------------------------
# Tokens


@pytest.fixture
def connection(org, london):
    return CalendarConnectionFactory(
        organisation=org,
        location=london,
        token_expires_at=datetime.now(UTC) + timedelta(hours=1),
    )


def test_beat_refreshes_tokens_before_they_expire(
    org, connection, mocked, django_capture_on_commit_callbacks
):
    CalendarConnection.all_organisations.filter(pk=connection.pk).update(
        token_expires_at=datetime.now(UTC) + timedelta(minutes=5)
    )
    mocked.post(
        TOKEN, json={"access_token": "ya29.refreshed", "expires_in": 3599, "token_type": "Bearer"}
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_expiring_tokens() == 1

    connection.refresh_from_db()
    assert connection.access_token == "ya29.refreshed"
    assert connection.refresh_token == "1//refresh-token-for-tests"
    assert connection.token_expires_at > datetime.now(UTC) + timedelta(minutes=55)
    assert form(mocked.calls[0])["grant_type"] == ["refresh_token"]


def test_invalid_grant_needs_reconnecting_tells_the_owner_once_and_is_not_retried(
    org, owner, staff, connection, mocked, django_capture_on_commit_callbacks
):
    CalendarConnection.all_organisations.filter(pk=connection.pk).update(
        token_expires_at=datetime.now(UTC) + timedelta(minutes=5)
    )
    mocked.post(
        TOKEN,
        status=400,
        json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )

    with django_capture_on_commit_callbacks(execute=True):
        refresh_expiring_tokens()
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_expiring_tokens() == 0  # no longer scanned: nothing to retry

    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.NEEDS_REAUTH
    assert "reconnect" in connection.last_error
    assert len(mocked.calls) == 1
    notes = Notification.all_organisations.filter(organisation=org)
    assert [(n.recipient, n.level) for n in notes] == [(owner, Notification.Level.ERROR)]
    assert "Reconnect Google Calendar" in notes[0].title


# ---------------------------------------------------------------------------------------------
# Free/busy


def freebusy(calendars):
    return {
        "kind": "calendar#freeBusy",
        "timeMin": "2031-06-02T00:00:00.000Z",
        "timeMax": "2031-08-01T00:00:00.000Z",
        "calendars": calendars,
    }


def test_sync_copies_busy_time_without_our_own_events(
    org, london, service, connection, mocked, django_capture_on_commit_callbacks
):
    ours = AppointmentFactory(
        organisation=org,
        location=london,
        service=service,
        start_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=2),
    )
    dentist_lunch = (ours.start_at + timedelta(hours=3), ours.start_at + timedelta(hours=4))
    mocked.post(
        FREEBUSY,
        json=freebusy(
            {
                "primary": {
                    "busy": [
                        # Our appointment's own event, merged by Google with a meeting after it.
                        {
                            "start": ours.start_at.isoformat(),
                            "end": (ours.end_at + timedelta(minutes=30)).isoformat(),
                        },
                        {
                            "start": dentist_lunch[0].isoformat(),
                            "end": dentist_lunch[1].isoformat(),
                        },
                    ]
                }
            }
        ),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_busy_times() == 1

    blocks = list(BusyBlock.all_organisations.values_list("start_at", "end_at"))
    assert blocks == [(ours.end_at, ours.end_at + timedelta(minutes=30)), dentist_lunch]
    body = json.loads(mocked.calls[0].request.body)
    assert body["items"] == [{"id": "primary"}]
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer ya29.access-token-for-tests"
    connection.refresh_from_db()
    assert connection.last_synced_at is not None


def test_a_calendar_error_inside_a_200_is_shown_on_the_connection(
    org, connection, mocked, django_capture_on_commit_callbacks
):
    mocked.post(
        FREEBUSY,
        json=freebusy({"primary": {"errors": [{"domain": "global", "reason": "notFound"}]}}),
    )
    with django_capture_on_commit_callbacks(execute=True):
        sync_busy_times()
    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.ERROR
    assert "notFound" in connection.last_error


# ---------------------------------------------------------------------------------------------
# Events


@pytest.fixture
def bookable(scope, london, service, connection):
    open_hours(london, ("00:00", "23:59"), weekdays=range(7))
    return london


def start_in(days=3):
    return datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(
        days=days
    )


def test_a_booking_creates_an_event_with_our_id(
    bookable, service, mocked, django_capture_on_commit_callbacks
):
    mocked.post(FREEBUSY, json=freebusy({"primary": {"busy": []}}))
    mocked.post(EVENTS, status=200, json={"kind": "calendar#event", "status": "confirmed"})

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(
            location=bookable, service=service, start=start_in(), name="Ada", phone="+447700900111"
        )

    inserted = json.loads(mocked.calls[-1].request.body)
    assert inserted["id"] == appointment.id.hex
    assert inserted["start"] == {
        "dateTime": appointment.start_at.isoformat().replace("+00:00", "Z"),
        "timeZone": "Europe/London",
    }
    assert inserted["extendedProperties"]["private"]["frontdesk_appointment_id"] == str(
        appointment.id
    )
    appointment.refresh_from_db()
    assert appointment.google_event_id == appointment.id.hex


def test_a_retried_insert_that_already_happened_counts_as_success(
    bookable, service, mocked, django_capture_on_commit_callbacks, org
):
    appointment = AppointmentFactory(
        organisation=org, location=bookable, service=service, start_at=start_in()
    )
    mocked.post(
        EVENTS,
        status=409,
        json=google_error(409, "duplicate", "The requested identifier already exists."),
    )
    mocked.patch(f"{EVENTS}/{appointment.id.hex}", json={"status": "confirmed"})

    with django_capture_on_commit_callbacks(execute=True):
        push_appointment.delay_on_commit(
            organisation_id=str(org.pk),
            appointment_id=str(appointment.pk),
            connection_id=str(CalendarConnection.objects.get().pk),
        )

    appointment.refresh_from_db()
    assert appointment.google_event_id == appointment.id.hex


def test_reschedule_updates_and_cancel_deletes_the_event(
    bookable, service, mocked, django_capture_on_commit_callbacks
):
    mocked.post(FREEBUSY, json=freebusy({"primary": {"busy": []}}))
    mocked.post(EVENTS, json={"status": "confirmed"})
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(
            location=bookable, service=service, start=start_in(), name="Ada"
        )
    event = f"{EVENTS}/{appointment.id.hex}"
    mocked.patch(event, json={"status": "confirmed"})
    mocked.delete(event, status=204)

    with django_capture_on_commit_callbacks(execute=True):
        moved = reschedule_appointment(appointment, start_in() + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(moved)

    methods = [call.request.method for call in mocked.calls if call.request.url.startswith(EVENTS)]
    assert methods == ["POST", "PATCH", "DELETE"]
    patched = json.loads(next(c for c in mocked.calls if c.request.method == "PATCH").request.body)
    assert patched["start"]["dateTime"] == moved.start_at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (403, google_error(403, "rateLimitExceeded", "Rate Limit Exceeded"), {}),
        (429, google_error(429, "rateLimitExceeded", "Too many requests"), {"Retry-After": "30"}),
        (503, {"error": {"code": 503, "message": "Backend Error"}}, {}),
    ],
)
def test_rate_limits_and_outages_are_recorded_and_retried(
    bookable, service, org, mocked, status, body, headers, django_capture_on_commit_callbacks
):
    appointment = AppointmentFactory(
        organisation=org, location=bookable, service=service, start_at=start_in()
    )
    connection = CalendarConnection.objects.get()
    mocked.post(EVENTS, status=status, json=body, headers=headers)
    kwargs = {
        "organisation_id": str(org.pk),
        "appointment_id": str(appointment.pk),
        "connection_id": str(connection.pk),
    }

    with django_capture_on_commit_callbacks(execute=True):
        push_appointment.delay_on_commit(**kwargs)

    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.CONNECTED
    assert connection.last_error
    # The retry Celery schedules: this time Google answers.
    mocked.replace(responses.POST, EVENTS, json={"status": "confirmed"})
    push_appointment.apply(kwargs=kwargs, retries=1)
    connection.refresh_from_db()
    assert connection.last_error == ""
    assert Appointment.all_organisations.get().google_event_id == appointment.id.hex


def test_the_last_retry_gives_up_into_a_visible_error(bookable, service, org, mocked):
    appointment = AppointmentFactory(
        organisation=org, location=bookable, service=service, start_at=start_in()
    )
    connection = CalendarConnection.objects.get()
    mocked.post(EVENTS, status=503, json={"error": {"code": 503, "message": "Backend Error"}})
    push_appointment.apply(
        kwargs={
            "organisation_id": str(org.pk),
            "appointment_id": str(appointment.pk),
            "connection_id": str(connection.pk),
        },
        retries=8,
    )
    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.ERROR
    assert connection.last_error.startswith("Gave up after 9 attempts")


class TestBookingRechecksGoogle:
    def test_a_time_google_says_is_busy_is_refused(self, bookable, service, mocked):
        start = start_in()
        mocked.post(
            FREEBUSY,
            json=freebusy(
                {
                    "primary": {
                        "busy": [
                            {
                                "start": start.isoformat(),
                                "end": (start + timedelta(hours=1)).isoformat(),
                            }
                        ]
                    }
                }
            ),
        )
        with pytest.raises(SlotUnavailable):
            book_appointment(location=bookable, service=service, start=start, name="Ada")
        assert BusyBlock.objects.count() == 1

    def test_google_being_down_does_not_stop_the_booking(self, bookable, service, mocked):
        mocked.post(FREEBUSY, status=500, json={"error": {"code": 500, "message": "Backend Error"}})
        appointment = book_appointment(
            location=bookable, service=service, start=start_in(), name="Ada"
        )
        assert appointment.pk
        connection = CalendarConnection.objects.get()
        assert "server error 500" in connection.last_error


def test_the_integrations_page_prompts_to_reconnect(client_for, admin_user, connection):
    CalendarConnection.all_organisations.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.NEEDS_REAUTH, last_error="Google access was revoked"
    )
    page = client_for(admin_user).get(reverse("calendars:integrations")).content.decode()
    assert "Needs reconnecting" in page
    assert "Reconnect below to resume." in page
    assert "Google access was revoked" in page


def test_sync_now_then_disconnect(
    client_for, admin_user, connection, mocked, django_capture_on_commit_callbacks
):
    client = client_for(admin_user)
    mocked.post(FREEBUSY, json=freebusy({"primary": {"busy": []}}))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("calendars:connection_sync", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.last_synced_at is not None

    response = client.post(reverse("calendars:connection_disconnect", args=[connection.pk]))

    assert response.status_code == 302
    assert not CalendarConnection.all_organisations.exists()
    assert AuditEvent.all_organisations.filter(action="calendar.disconnected").exists()
