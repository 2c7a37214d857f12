from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from organisations.models import Notification
from organisations.tenancy import tenant, tenant_transaction
from telephony import oncall, sms, tasks
from telephony.models import EmergencyNotification
from telephony.tests.factories import CallFactory, EmergencyContactFactory

pytestmark = pytest.mark.django_db
WEEKDAYS = [0, 1, 2, 3, 4]


def _names(contacts):
    return [c.name for c in contacts]


def test_the_rota_is_by_priority_and_availability_in_the_locations_time_zone(clinic):
    EmergencyContactFactory(
        organisation=clinic.org,
        name="Day dentist",
        priority=1,
        available_days=WEEKDAYS,
        available_from=time(8),
        available_until=time(18),
    )
    EmergencyContactFactory(
        organisation=clinic.org,
        name="Night nurse",
        priority=2,
        available_days=list(range(7)),
        available_from=time(18),
        available_until=time(8),
    )
    EmergencyContactFactory(organisation=clinic.org, name="Manager", priority=3)
    EmergencyContactFactory(organisation=clinic.org, name="Retired", priority=0, active=False)
    with tenant(clinic.org):
        # Monday 12:00 in London in summer is 11:00 UTC.
        monday_noon = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
        assert _names(oncall.rota(clinic.location, monday_noon)) == ["Day dentist", "Manager"]
        # Monday 23:30 London: the overnight shift that started on Monday.
        assert _names(oncall.rota(clinic.location, datetime(2026, 6, 1, 22, 30, tzinfo=UTC))) == [
            "Night nurse",
            "Manager",
        ]
        # Saturday 07:00 London: still Friday night's shift.
        saturday_early = datetime(2026, 6, 6, 6, 0, tzinfo=UTC)
        assert _names(oncall.rota(clinic.location, saturday_early)) == ["Night nurse", "Manager"]
        # Saturday noon: the weekday dentist is off.
        assert _names(oncall.rota(clinic.location, datetime(2026, 6, 6, 11, tzinfo=UTC))) == [
            "Manager"
        ]


def test_an_overnight_shift_belongs_to_the_day_it_starts(clinic):
    contact = EmergencyContactFactory(
        organisation=clinic.org,
        available_days=[4],  # Friday night only
        available_from=time(20),
        available_until=time(6),
    )
    zone = clinic.location.zone
    assert contact.is_available(datetime(2026, 6, 5, 21, tzinfo=zone))  # Friday 21:00
    assert contact.is_available(datetime(2026, 6, 6, 5, tzinfo=zone))  # Saturday 05:00
    assert not contact.is_available(datetime(2026, 6, 6, 21, tzinfo=zone))  # Saturday 21:00
    assert not contact.is_available(datetime(2026, 6, 5, 5, tzinfo=zone))  # Friday 05:00


def test_contacts_of_another_location_are_not_on_call_here(clinic):
    from organisations.tests.factories import LocationFactory

    elsewhere = LocationFactory(organisation=clinic.org, name="Islington")
    EmergencyContactFactory(organisation=clinic.org, name="Islington only", location=elsewhere)
    EmergencyContactFactory(organisation=clinic.org, name="Everywhere", location=None)
    with tenant(clinic.org):
        assert _names(oncall.rota(clinic.location)) == ["Everywhere"]


# ---------------------------------------------------------------------------------------------
# Escalation


@pytest.fixture
def emergency(clinic, django_capture_on_commit_callbacks):
    first = EmergencyContactFactory(
        organisation=clinic.org, name="First", phone="+447911123701", priority=1
    )
    second = EmergencyContactFactory(
        organisation=clinic.org,
        name="Second",
        phone="+447911123702",
        priority=2,
        escalation_minutes=10,
    )
    call = CallFactory(organisation=clinic.org, location=clinic.location)
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        alert = oncall.raise_emergency(call, clinic.location, summary="Facial swelling")
    alert.refresh_from_db()
    return alert, first, second


def _overdue(alert):
    EmergencyNotification.all_organisations.filter(pk=alert.pk).update(
        escalate_at=timezone.now() - timedelta(seconds=1)
    )


def test_an_unacknowledged_alert_escalates_down_the_rota(
    emergency, django_capture_on_commit_callbacks
):
    alert, first, second = emergency
    assert [t.to for t in sms.outbox] == [first.phone]
    assert tasks.escalate_emergencies() == 0  # not due yet
    _overdue(alert)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.escalate_emergencies() == 1
    assert [t.to for t in sms.outbox] == [first.phone, second.phone]
    latest = EmergencyNotification.all_organisations.order_by("-created_at").first()
    assert (latest.contact, latest.incident) == (second, alert.incident)
    assert latest.escalate_at - latest.created_at == timedelta(minutes=10)
    # Running the scan again changes nothing: each alert escalates once.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.escalate_emergencies()
    assert len(sms.outbox) == 2


def test_nobody_left_on_the_rota_tells_staff(emergency, django_capture_on_commit_callbacks):
    alert, _first, _second = emergency
    for _ in range(2):
        for open_alert in EmergencyNotification.all_organisations.filter(escalated_at=None):
            _overdue(open_alert)
        with django_capture_on_commit_callbacks(execute=True):
            tasks.escalate_emergencies()
    assert Notification.all_organisations.filter(
        title="Nobody acknowledged an emergency", organisation=alert.organisation
    ).exists()
    assert EmergencyNotification.all_organisations.count() == 2


def test_acknowledging_stops_the_escalation(emergency, django_capture_on_commit_callbacks):
    alert, _first, _second = emergency
    with tenant_transaction(alert.organisation):
        assert oncall.acknowledge(alert)
        assert not oncall.acknowledge(alert)
    _overdue(alert)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.escalate_emergencies()
    assert len(sms.outbox) == 1
    assert EmergencyNotification.all_organisations.count() == 1


def test_a_failed_alert_text_escalates_at_once(clinic, django_capture_on_commit_callbacks):
    from organisations.models import Customer

    first = EmergencyContactFactory(organisation=clinic.org, phone="+447911123701", priority=1)
    second = EmergencyContactFactory(organisation=clinic.org, phone="+447911123702", priority=2)
    with tenant_transaction(clinic.org):
        Customer.objects.create(phone=first.phone, sms_opt_out=True)
    call = CallFactory(organisation=clinic.org, location=clinic.location)
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(clinic.org):
        alert = oncall.raise_emergency(call, clinic.location, summary="Fainted")
    assert alert.status == EmergencyNotification.Status.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        tasks.escalate_emergencies()
    assert [t.to for t in sms.outbox] == [second.phone]


def test_the_dashboard_button_acknowledges(emergency, client_for, staff, viewer):
    alert, _first, _second = emergency
    url = f"/emergencies/{alert.pk}/acknowledge/"
    assert client_for(viewer).post(url).status_code == 403
    response = client_for(staff).post(url)
    assert response.status_code == 302
    assert response["Location"] == f"/calls/{alert.call_id}/"
    alert.refresh_from_db()
    assert alert.status == EmergencyNotification.Status.ACKNOWLEDGED
    assert alert.acknowledged_by == staff


def test_a_reply_from_someone_else_acknowledges_nothing(emergency):
    alert, _first, second = emergency
    with tenant_transaction(alert.organisation):
        assert oncall.acknowledge_by_sms(second.phone, "OK") is None  # never alerted
        assert oncall.acknowledge_by_sms(alert.contact.phone, "what?") is None
        assert oncall.acknowledge_by_sms(alert.contact.phone, "Ok.") == alert
