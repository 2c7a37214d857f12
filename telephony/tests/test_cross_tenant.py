"""Numbers, calls and tools of one organisation never reach another's data."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from calendars.models import Appointment
from calendars.tests.factories import AppointmentFactory
from organisations.models import Customer
from organisations.tenancy import tenant_transaction
from telephony.models import Call, PhoneNumber
from telephony.tests import payloads
from telephony.tests.factories import CallFactory, IntentFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db
TWILIO_SMS = "/webhooks/twilio/sms/"


def _metadata(client, number, call_id):
    message = payloads.vapi_message("assistant-request", number=number, call_id=call_id)
    return payloads.post_vapi(client, message).json()["assistant"]["metadata"]


def test_an_active_number_belongs_to_one_organisation(clinic, other_clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumberFactory(organisation=other_clinic.org, number=clinic.number.number)
    # Once released (inactive), the number can move to another organisation.
    PhoneNumber.all_organisations.filter(pk=clinic.number.pk).update(active=False)
    PhoneNumberFactory(organisation=other_clinic.org, number=clinic.number.number)


def test_the_assistant_of_one_clinic_never_carries_anothers_settings(client, clinic, other_clinic):
    IntentFactory(organisation=other_clinic.org, name="Physio-secret-intent")
    message = payloads.vapi_message("assistant-request", number=clinic.number)
    assistant = payloads.post_vapi(client, message).json()["assistant"]
    assert "Physio-secret-intent" not in str(assistant)
    assert assistant["metadata"]["organisation_id"] == str(clinic.org.pk)


def test_metadata_that_does_not_match_its_number_is_not_trusted(client, clinic, other_clinic):
    """A message claiming another organisation in its metadata is routed by its number."""
    forged = {
        "organisation_id": str(other_clinic.org.pk),
        "phone_number_id": str(clinic.number.pk),
        "call_id": "",
    }
    message = payloads.tool_calls(
        clinic.number, [("t1", "find_customer", {})], metadata=forged, call_id="call-a"
    )
    payloads.post_vapi(client, message)
    assert Call.all_organisations.get().organisation == clinic.org


def test_tools_see_only_their_own_organisations_customers_and_appointments(
    client, clinic, other_clinic
):
    # The same person is a patient of the other clinic, with an appointment there.
    with tenant_transaction(other_clinic.org):
        theirs = Customer.objects.create(phone=payloads.CALLER, name="Known-Elsewhere")
    appointment = AppointmentFactory(
        organisation=other_clinic.org,
        location=other_clinic.location,
        customer=theirs,
        phone=payloads.CALLER,
        start_at=timezone.now() + timedelta(days=3),
    )
    metadata = _metadata(client, clinic.number, "call-a")
    message = payloads.tool_calls(
        clinic.number,
        [
            ("t1", "find_customer", {}),
            ("t2", "cancel_appointment", {}),
            ("t3", "reschedule_appointment", {"new_date": "tomorrow", "new_time": "10:00"}),
        ],
        metadata=metadata,
        call_id="call-a",
    )
    found, cancelled, moved = payloads.post_vapi(client, message).json()["results"]
    assert "Known-Elsewhere" not in found["result"]
    assert "new patient" in found["result"]
    assert "cannot find an upcoming appointment" in cancelled["error"]
    assert "cannot find an upcoming appointment" in moved["error"]
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


def test_events_about_another_organisations_call_id_do_not_touch_it(client, clinic, other_clinic):
    theirs = CallFactory(
        organisation=other_clinic.org, provider_call_id="shared-id", status=Call.Status.RINGING
    )
    metadata = {**payloads.metadata_for(clinic.number), "call_id": str(theirs.pk)}
    message = payloads.vapi_message(
        "status-update",
        number=clinic.number,
        call_id="shared-id",
        metadata=metadata,
        status="ended",
        endedReason="customer-ended-call",
    )
    payloads.post_vapi(client, message)
    theirs.refresh_from_db()
    assert theirs.status == Call.Status.RINGING
    ours = Call.all_organisations.get(organisation=clinic.org)
    assert (ours.provider_call_id, ours.status) == ("shared-id", Call.Status.ENDED)


def test_stop_to_one_clinic_does_not_opt_out_of_another(client, clinic, other_clinic):
    with tenant_transaction(other_clinic.org):
        theirs = Customer.objects.create(phone=payloads.CALLER)
    params = payloads.inbound_sms_params(to=clinic.number.number, body="STOP")
    payloads.post_twilio(client, TWILIO_SMS, params)
    theirs.refresh_from_db()
    assert not theirs.sms_opt_out
    ours = Customer.all_organisations.get(organisation=clinic.org, phone=payloads.CALLER)
    assert ours.sms_opt_out


def test_deliveries_record_the_organisation_they_were_routed_to(client, clinic, other_clinic):
    from telephony.models import WebhookDelivery

    payloads.post_vapi(client, payloads.vapi_message("hang", number=other_clinic.number))
    assert WebhookDelivery.objects.get().organisation == other_clinic.org
