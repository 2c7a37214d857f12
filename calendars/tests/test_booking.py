from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from calendars.availability import find_free_slots
from calendars.booking import (
    InvalidTransition,
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    complete_appointment,
    mark_no_show,
    reschedule_appointment,
)
from calendars.models import Appointment
from calendars.signals import appointment_changed
from calendars.tests.conftest import open_hours
from calendars.tests.factories import AppointmentFactory
from organisations.models import Customer
from organisations.tenancy import current_organisation

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=7 - today.weekday() + 7)


DAY = next_monday()


def at(hhmm, day=DAY):
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=LONDON)


@pytest.fixture
def clinic(scope, london, service):
    open_hours(london, ("09:00", "12:00"))
    return london


@pytest.fixture
def changes():
    """The appointment_changed signals sent, with the tenant each receiver ran in."""
    received = []

    def receiver(sender, appointment, change, **kwargs):
        received.append((change, appointment.pk, current_organisation()))

    appointment_changed.connect(receiver)
    yield received
    appointment_changed.disconnect(receiver)


def book(clinic, service, hhmm="10:00", **kwargs):
    kwargs.setdefault("phone", "+447700900111")
    kwargs.setdefault("name", "Ada Lovelace")
    return book_appointment(location=clinic, service=service, start=at(hhmm), **kwargs)


class TestBook:
    def test_books_a_confirmed_appointment_in_utc_for_the_caller(self, clinic, service):
        appointment = book(clinic, service, email="ada@mail.example", notes="Tooth ache")

        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CONFIRMED
        assert appointment.confirmed_at is not None
        assert appointment.start_at == at("10:00").astimezone(UTC)
        assert appointment.end_at - appointment.start_at == timedelta(minutes=30)
        assert appointment.source == Appointment.Source.PHONE
        assert (appointment.name, appointment.phone, appointment.email) == (
            "Ada Lovelace",
            "+447700900111",
            "ada@mail.example",
        )
        assert appointment.customer == Customer.objects.get(phone="+447700900111")

    def test_an_existing_customer_fills_in_what_the_caller_did_not_say(self, clinic, service):
        customer = Customer.objects.create(name="Grace Hopper", phone="+447700900222")
        appointment = book(clinic, service, customer=customer, name="", phone="")
        assert (appointment.name, appointment.phone) == ("Grace Hopper", "+447700900222")

    def test_a_taken_time_is_refused_with_the_nearest_free_times(self, clinic, service):
        book(clinic, service, "10:00")
        with pytest.raises(SlotUnavailable) as refused:
            book(clinic, service, "10:15")
        alternatives = [
            slot.start.astimezone(LONDON).strftime("%H:%M") for slot in refused.value.alternatives
        ]
        assert alternatives == ["09:30", "10:30", "11:00"]
        assert Appointment.objects.count() == 1

    def test_outside_opening_hours_is_refused(self, clinic, service):
        with pytest.raises(SlotUnavailable) as refused:
            book(clinic, service, "18:00")
        assert refused.value.alternatives
        assert not Appointment.objects.exists()

    def test_a_repeated_idempotency_key_returns_the_same_appointment(self, clinic, service):
        first = book(clinic, service, idempotency_key="vapi-call-1:tool-7")
        again = book(clinic, service, "11:00", idempotency_key="vapi-call-1:tool-7")
        assert again.pk == first.pk
        assert Appointment.objects.count() == 1

    def test_naive_times_are_a_programming_error(self, clinic, service):
        with pytest.raises(ValueError, match="timezone-aware"):
            book_appointment(location=clinic, service=service, start=datetime(2030, 1, 7, 10))

    def test_the_change_is_announced_after_commit_in_the_tenant(
        self, clinic, service, changes, org, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            appointment = book(clinic, service)
            assert changes == []
        assert changes == [("booked", appointment.pk, org)]

    def test_nothing_is_announced_when_the_transaction_rolls_back(
        self, clinic, service, changes, django_capture_on_commit_callbacks
    ):
        def book_then_fail():
            with transaction.atomic():
                book(clinic, service)
                raise RuntimeError("the caller hung up")

        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            book_then_fail()
        assert changes == []
        assert not Appointment.objects.exists()


class TestReschedule:
    def test_moves_the_appointment_and_frees_the_old_time(self, clinic, service):
        appointment = book(clinic, service, "10:00")

        moved = reschedule_appointment(appointment, at("11:00"))

        assert moved.pk == appointment.pk
        assert moved.start_at == at("11:00").astimezone(UTC)
        assert moved.status == Appointment.Status.CONFIRMED
        free = find_free_slots(clinic, service, DAY, DAY)
        assert at("10:00") in [slot.start for slot in free]
        assert at("11:00") not in [slot.start for slot in free]

    def test_may_overlap_its_own_old_time(self, clinic, service):
        appointment = book(clinic, service, "10:00")
        assert reschedule_appointment(appointment, at("10:15")).start_at == at("10:15")

    def test_a_taken_time_is_refused_and_nothing_moves(self, clinic, service):
        appointment = book(clinic, service, "10:00")
        book(clinic, service, "11:00", phone="+447700900333")
        with pytest.raises(SlotUnavailable) as refused:
            reschedule_appointment(appointment, at("11:00"))
        assert refused.value.alternatives
        appointment.refresh_from_db()
        assert appointment.start_at == at("10:00")

    def test_a_repeated_idempotency_key_does_not_move_it_again(self, clinic, service):
        appointment = book(clinic, service, "10:00")
        reschedule_appointment(appointment, at("11:00"), idempotency_key="k1")
        again = reschedule_appointment(appointment, at("09:00"), idempotency_key="k1")
        assert again.start_at == at("11:00")

    def test_cancelled_appointments_cannot_move(self, clinic, service):
        appointment = cancel_appointment(book(clinic, service))
        with pytest.raises(InvalidTransition):
            reschedule_appointment(appointment, at("11:00"))

    def test_is_announced(self, clinic, service, changes, django_capture_on_commit_callbacks):
        appointment = book(clinic, service, "10:00")
        with django_capture_on_commit_callbacks(execute=True):
            reschedule_appointment(appointment, at("11:00"))
        assert changes == [("rescheduled", appointment.pk, appointment.organisation)]


class TestCancel:
    def test_frees_the_time_and_keeps_the_reason(self, clinic, service):
        appointment = book(clinic, service, "10:00")

        cancelled = cancel_appointment(appointment, reason="Feeling better")

        assert cancelled.status == Appointment.Status.CANCELLED
        assert cancelled.cancelled_at is not None
        assert cancelled.cancellation_reason == "Feeling better"
        assert book(clinic, service, "10:00", phone="+447700900444").pk != appointment.pk

    def test_twice_changes_nothing_and_announces_once(
        self, clinic, service, changes, django_capture_on_commit_callbacks
    ):
        appointment = book(clinic, service)
        with django_capture_on_commit_callbacks(execute=True):
            first = cancel_appointment(appointment)
            second = cancel_appointment(appointment)
        assert first.cancelled_at == second.cancelled_at
        assert [change for change, *_ in changes] == ["cancelled"]


class TestCompleteAndNoShow:
    def past(self, org, london, service):
        return AppointmentFactory(
            organisation=org,
            location=london,
            service=service,
            start_at=datetime.now(UTC) - timedelta(hours=2),
        )

    def test_a_past_appointment_can_be_completed_or_marked_no_show(
        self, scope, org, london, service
    ):
        appointment = self.past(org, london, service)
        assert complete_appointment(appointment).status == Appointment.Status.COMPLETED
        no_show = mark_no_show(appointment)
        assert no_show.status == Appointment.Status.NO_SHOW
        assert no_show.completed_at is None
        assert complete_appointment(appointment).completed_at is not None

    def test_a_future_appointment_has_not_happened_yet(self, clinic, service):
        appointment = book(clinic, service)
        with pytest.raises(InvalidTransition, match="not started"):
            complete_appointment(appointment)
        with pytest.raises(InvalidTransition):
            mark_no_show(appointment)

    def test_a_cancelled_appointment_stays_cancelled(self, scope, org, london, service):
        appointment = self.past(org, london, service)
        cancel_appointment(appointment)
        with pytest.raises(InvalidTransition, match="cancelled"):
            complete_appointment(appointment)

    def test_completion_is_announced(
        self, scope, org, london, service, changes, django_capture_on_commit_callbacks
    ):
        appointment = self.past(org, london, service)
        with django_capture_on_commit_callbacks(execute=True):
            complete_appointment(appointment)
            mark_no_show(appointment)
        assert [change for change, *_ in changes] == ["completed", "no_show"]
