"""Secrets at rest never come back out: not in any dashboard page, not in the admin, not in the
API, not in the logs, and not as plaintext in the database."""

import logging

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from calendars.tests.factories import CalendarConnectionFactory
from organisations.models import ApiKey
from organisations.tenancy import tenant_transaction
from organisations.tests.test_isolation import LIST_URLS
from telephony.tests.factories import TelephonySettingsFactory

pytestmark = pytest.mark.django_db

TWILIO_TOKEN = "twilio-secret-0f9e8d7c6b5a4938"
ACCESS_TOKEN = "ya29.google-access-secret-1234567890"
REFRESH_TOKEN = "1//google-refresh-secret-0987654321"


@pytest.fixture
def secrets(org, caplog):
    caplog.set_level(logging.DEBUG)
    TelephonySettingsFactory(organisation=org, twilio_auth_token=TWILIO_TOKEN)
    CalendarConnectionFactory(
        organisation=org, access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN
    )
    with tenant_transaction(org):
        key = ApiKey(name="sync", role="admin")
        raw_key = key.issue()
        key.save()
    # The key's "fd_<prefix>_" start is public by design (shown to find it); the rest is secret.
    key_secret = raw_key.split("_", 2)[2]
    return {
        "values": [TWILIO_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN, key_secret],
        "raw_key": raw_key,
    }


def _assert_clean(content: bytes, values, where: str):
    for value in values:
        assert value.encode() not in content, f"{where} shows a secret"
        # Not even a long recognisable piece of it (masks show at most the last 4 characters).
        assert value[:12].encode() not in content, f"{where} shows the start of a secret"


def test_no_dashboard_page_shows_a_secret(secrets, owner, client_for, caplog):
    client = client_for(owner)
    for name in LIST_URLS:
        response = client.get(reverse(name), follow=True)
        _assert_clean(response.content, secrets["values"], name)
    _assert_clean(caplog.text.encode(), secrets["values"], "the log")


def test_the_platform_admin_masks_every_secret(secrets, client, org):
    from organisations.tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    for model in admin.site._registry:
        opts = model._meta
        listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        _assert_clean(listing.content, secrets["values"], f"admin {opts.label} list")
        for pk in model._default_manager.values_list("pk", flat=True)[:5]:
            page = client.get(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            )
            _assert_clean(page.content, secrets["values"], f"admin {opts.label} {pk}")


def test_the_api_never_returns_a_secret(secrets, client):
    raw_key = secrets["raw_key"]
    schema = client.get("/api/schema/").content.decode()
    for line in schema.splitlines():
        if line.strip().startswith("/api/v1/") and "{" not in line:
            path = line.strip().rstrip(":")
            response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
            _assert_clean(response.content, secrets["values"], path)


def test_secrets_are_not_stored_in_plaintext(secrets):
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM calendars_calendarconnection")
        stored = " ".join(" ".join(row) for row in cursor.fetchall())
        cursor.execute("SELECT twilio_auth_token FROM telephony_telephonysettings")
        stored += " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT key_hash FROM organisations_apikey")
        stored += " ".join(row[0] for row in cursor.fetchall())
    _assert_clean(stored.encode(), secrets["values"], "the database")
