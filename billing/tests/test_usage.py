"""Call minutes: recorded once per call, reported once to Stripe's meter, never lost silently."""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from billing.models import UsageRecord, minutes_for
from billing.tasks import report_usage_to_stripe, retry_usage_reports
from billing.tests import stripe_objects as so
from billing.tests.factories import SubscriptionFactory, UsageRecordFactory
from billing.usage import record_call_usage
from organisations.models import Notification
from organisations.tenancy import TenantScopeError, tenant, tenant_transaction

pytestmark = pytest.mark.django_db
METER_EVENTS = f"{so.API}/v1/billing/meter_events"


@given(st.integers(min_value=0, max_value=10 * 24 * 3600))
def test_every_started_minute_counts(seconds):
    minutes = minutes_for(seconds)
    assert minutes * 60 >= seconds
    assert (minutes - 1) * 60 < seconds or minutes == 0


def test_negative_duration_is_refused():
    with pytest.raises(ValueError, match="negative"):
        minutes_for(-1)


@pytest.fixture
def record(org, subscription, stripe_http, django_capture_on_commit_callbacks):
    """record(call_id, seconds): a call ending now, recorded as telephony does, with the report
    task run after commit."""

    def finish(call_id="call-1", seconds=61):
        with django_capture_on_commit_callbacks(execute=True), tenant_transaction(org):
            return record_call_usage(call_id=call_id, seconds=seconds, ended_at=timezone.now())

    return finish


def _meter_ok(stripe_http):
    return stripe_http.post(METER_EVENTS, json=so.meter_event("call-1", "cus_1", 2, 1))


def test_usage_is_reported_to_the_meter_with_the_call_id(record, stripe_http):
    _meter_ok(stripe_http)
    usage = record("call-1", seconds=61)
    usage.refresh_from_db()
    assert (usage.minutes, usage.status, usage.attempts) == (2, UsageRecord.Status.REPORTED, 1)
    sent = parse_qs(stripe_http.calls[0].request.body)
    assert sent["identifier"] == ["call-1"]
    assert sent["payload[value]"] == ["2"]
    assert sent["payload[stripe_customer_id]"] == ["cus_1"]


def test_the_same_call_twice_is_one_record_and_one_report(record, stripe_http):
    meter = _meter_ok(stripe_http)
    first = record("call-1", seconds=61)
    again = record("call-1", seconds=600)
    assert again.pk == first.pk
    assert again.minutes == 2
    assert UsageRecord.all_organisations.count() == 1
    assert meter.call_count == 1


def test_recording_needs_an_organisation_in_scope(db):
    with pytest.raises(TenantScopeError):
        record_call_usage(call_id="call-1", seconds=10, ended_at=timezone.now())


def test_a_rerun_of_a_reported_record_sends_nothing(org, subscription, stripe_http):
    usage = UsageRecordFactory(organisation=org, status=UsageRecord.Status.REPORTED)
    report_usage_to_stripe(organisation_id=str(org.pk), usage_record_id=str(usage.pk))
    assert not stripe_http.calls


def test_already_counted_by_stripe_is_reported(record, stripe_http):
    stripe_http.post(
        METER_EVENTS, status=400, json=so.error("An event already exists with identifier call-1.")
    )
    assert UsageRecord.all_organisations.get(pk=record().pk).status == UsageRecord.Status.REPORTED


def test_transient_failure_schedules_a_retry_with_backoff(record, stripe_http):
    stripe_http.post(METER_EVENTS, status=429, json=so.error("Too many requests"))
    usage = UsageRecord.all_organisations.get(pk=record().pk)
    assert usage.status == UsageRecord.Status.PENDING
    assert usage.attempts == 1
    assert "Too many requests" in usage.last_error
    assert timezone.now() < usage.next_attempt_at <= timezone.now() + timedelta(minutes=1)

    # Not due yet: a second delivery of the task leaves it alone.
    report_usage_to_stripe(
        organisation_id=str(usage.organisation_id), usage_record_id=str(usage.pk)
    )
    assert len(stripe_http.calls) == 1


def test_backoff_grows_and_is_capped():
    waits = [UsageRecord(attempts=n).backoff() for n in (1, 2, 3, 4, 20)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[4] == timedelta(hours=6)


def test_after_the_last_attempt_the_record_fails_visibly(org, subscription, stripe_http):
    stripe_http.post(METER_EVENTS, status=500, json=so.error("Internal", error_type="api_error"))
    usage = UsageRecordFactory(organisation=org, attempts=UsageRecord.MAX_ATTEMPTS - 1)
    report_usage_to_stripe(organisation_id=str(org.pk), usage_record_id=str(usage.pk))
    usage.refresh_from_db()
    assert usage.status == UsageRecord.Status.FAILED
    assert usage.next_attempt_at is None
    with tenant(org):
        assert Notification.objects.get().level == Notification.Level.ERROR


def test_permanent_failure_fails_at_once(org, subscription, stripe_http):
    stripe_http.post(METER_EVENTS, status=400, json=so.error("No such customer: 'cus_1'"))
    usage = UsageRecordFactory(organisation=org)
    report_usage_to_stripe(organisation_id=str(org.pk), usage_record_id=str(usage.pk))
    usage.refresh_from_db()
    assert usage.status == UsageRecord.Status.FAILED
    assert "No such customer" in usage.last_error
    with tenant(org):
        assert "could not be billed" in Notification.objects.get().title


def test_without_a_stripe_customer_minutes_are_not_billed(org, stripe_http):
    usage = UsageRecordFactory(organisation=org)
    report_usage_to_stripe(organisation_id=str(org.pk), usage_record_id=str(usage.pk))
    usage.refresh_from_db()
    assert usage.status == UsageRecord.Status.SKIPPED
    assert not stripe_http.calls


def test_without_stripe_configured_minutes_are_not_billed(org, subscription, settings, stripe_http):
    settings.STRIPE_SECRET_KEY = ""
    usage = UsageRecordFactory(organisation=org)
    report_usage_to_stripe(organisation_id=str(org.pk), usage_record_id=str(usage.pk))
    usage.refresh_from_db()
    assert usage.status == UsageRecord.Status.SKIPPED
    assert "not configured" in usage.last_error


def test_periodic_scan_reports_due_records_across_organisations(
    org, other_org, subscription, stripe_http, django_capture_on_commit_callbacks
):
    SubscriptionFactory(organisation=other_org, stripe_customer_id="cus_2")
    meter = _meter_ok(stripe_http)
    past = timezone.now() - timedelta(minutes=1)
    due = [
        UsageRecordFactory(organisation=org, next_attempt_at=past),
        UsageRecordFactory(organisation=other_org, next_attempt_at=past),
    ]
    later = UsageRecordFactory(
        organisation=org, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_usage_reports() == 2
    assert meter.call_count == 2
    statuses = UsageRecord.all_organisations.in_bulk([r.pk for r in [*due, later]])
    assert [statuses[r.pk].status for r in due] == ["reported", "reported"]
    assert statuses[later.pk].status == "pending"
