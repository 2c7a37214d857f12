"""PostgreSQL-only: the phone path under row-level security, and concurrent deliveries."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from billing.models import UsageRecord
from calendars.models import Appointment
from organisations.tests.test_tenancy import as_app_role
from telephony.models import Call, TranscriptLine, WebhookDelivery
from telephony.tests import payloads

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_the_phone_path_works_as_the_app_role_under_row_level_security(
    client, clinic, other_clinic
):
    tomorrow = (timezone.now().astimezone(clinic.location.zone) + timedelta(days=1)).date()
    with as_app_role():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] != "postgres"
        message = payloads.vapi_message("assistant-request", number=clinic.number, call_id="c-1")
        metadata = payloads.post_vapi(client, message).json()["assistant"]["metadata"]
        booked = payloads.post_vapi(
            client,
            payloads.tool_calls(
                clinic.number,
                [
                    (
                        "t1",
                        "book_appointment",
                        {"date": str(tomorrow), "time": "11:00", "name": "Ann"},
                    )
                ],
                metadata=metadata,
                call_id="c-1",
            ),
        ).json()["results"][0]
        assert booked["result"].startswith("Booked:"), booked
        report = payloads.end_of_call_report(
            clinic.number, started=datetime(2026, 5, 12, 9, tzinfo=UTC), metadata=metadata
        )
        assert payloads.post_vapi(client, report).status_code == 200
        # The other clinic's number routes to the other clinic, under the same role.
        theirs = payloads.vapi_message(
            "assistant-request", number=other_clinic.number, call_id="c-2"
        )
        assert "assistant" in payloads.post_vapi(client, theirs).json()
    call = Call.all_organisations.get(provider_call_id="c-1")
    assert (call.organisation, call.is_final, call.outcome) == (clinic.org, True, "booked")
    assert Appointment.all_organisations.get().organisation == clinic.org
    assert Call.all_organisations.get(provider_call_id="c-2").organisation == other_clinic.org


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_reports_make_one_final_call(clinic):
    client = Client()
    metadata = payloads.post_vapi(
        client, payloads.vapi_message("assistant-request", number=clinic.number)
    ).json()["assistant"]["metadata"]
    report = payloads.end_of_call_report(
        clinic.number, started=datetime(2026, 5, 12, 9, tzinfo=UTC), metadata=metadata
    )
    start = threading.Barrier(4)
    statuses = []

    def deliver():
        try:
            start.wait()
            statuses.append(payloads.post_vapi(Client(), report).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    call = Call.all_organisations.get()
    assert call.is_final
    assert TranscriptLine.all_organisations.filter(call=call).count() == 5
    assert UsageRecord.all_organisations.count() == 1
    assert WebhookDelivery.objects.filter(kind="end-of-call-report").count() == 1
