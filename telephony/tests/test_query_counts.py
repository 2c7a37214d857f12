"""The phone path runs a fixed number of queries whatever the amount of data (ARCHITECTURE §8).

Timing belongs in bench/; here we prove the shape: the same number of queries for a clinic with a
handful of rows and for one with many calls, customers, appointments, intents and neighbours.
"""

import uuid
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calendars.tests.factories import AppointmentFactory
from organisations.tests.factories import CustomerFactory, OrganisationFactory
from telephony.tests import payloads
from telephony.tests.factories import (
    CallFactory,
    EmergencyContactFactory,
    IntentFactory,
    PhoneNumberFactory,
    TranscriptLineFactory,
)

pytestmark = pytest.mark.django_db
_ids = count()


def _queries(client, payload) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = payloads.post_vapi(client, payload)
    assert response.status_code == 200
    return len(captured)


def _assistant_request(clinic) -> dict:
    call_id = str(uuid.UUID(int=next(_ids)))
    return payloads.vapi_message("assistant-request", number=clinic.number, call_id=call_id)


def _check_availability(client, clinic) -> dict:
    message = _assistant_request(clinic)
    metadata = payloads.post_vapi(client, message).json()["assistant"]["metadata"]
    tomorrow = (timezone.now().astimezone(clinic.location.zone) + timedelta(days=1)).date()
    return payloads.tool_calls(
        clinic.number,
        [("t1", "check_availability", {"date": tomorrow.isoformat()})],
        metadata=metadata,
        call_id=message["message"]["call"]["id"],
    )


def _grow(clinic):
    """Lots of everything, in this organisation and in others."""
    for n in range(40):
        customer = CustomerFactory(organisation=clinic.org, phone=f"+44791112{n:04d}")
        call = CallFactory(organisation=clinic.org, location=clinic.location, customer=customer)
        TranscriptLineFactory(organisation=clinic.org, call=call, position=0)
        AppointmentFactory(
            organisation=clinic.org,
            location=clinic.location,
            service=clinic.service,
            start_at=datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            + timedelta(days=1 + n // 8, hours=n % 8),
        )
    for n in range(15):
        IntentFactory(organisation=clinic.org, name=f"Intent {n}")
        EmergencyContactFactory(organisation=clinic.org)
    for n in range(10):
        neighbour = OrganisationFactory()
        PhoneNumberFactory(organisation=neighbour, number=f"+4420794607{n:02d}")
        CallFactory(organisation=neighbour)


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "cold"])
def test_assistant_request_queries_do_not_grow_with_data(client, clinic, cached):
    payloads.post_vapi(client, _assistant_request(clinic))
    if not cached:
        cache.clear()
    small = _queries(client, _assistant_request(clinic))
    _grow(clinic)
    payloads.post_vapi(client, _assistant_request(clinic))  # refill the cache the growth emptied
    if not cached:
        cache.clear()
    assert _queries(client, _assistant_request(clinic)) == small


def test_assistant_request_from_the_cache_stays_small(client, clinic):
    payloads.post_vapi(client, _assistant_request(clinic))
    with CaptureQueriesContext(connection) as captured:
        payloads.post_vapi(client, _assistant_request(clinic))
    statements = [
        q["sql"]
        for q in captured
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SELECT set_config"))
    ]
    # Route the number, store the delivery, open the call, find the caller, mark the delivery:
    # nothing about settings, intents, hours or billing (they come from the cache).
    assert len(statements) <= 9, statements
    assert not [sql for sql in statements if "telephony_intent" in sql or "workinghours" in sql]


def test_check_availability_queries_do_not_grow_with_data(client, clinic):
    small = _queries(client, _check_availability(client, clinic))
    _grow(clinic)
    _check_availability(client, clinic)
    assert _queries(client, _check_availability(client, clinic)) == small
