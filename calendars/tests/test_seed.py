from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from calendars.availability import find_free_slots
from calendars.models import Appointment, Closure, Service, ServiceLocation, WorkingHours
from organisations.models import Location, Organisation
from organisations.tenancy import tenant_transaction

pytestmark = pytest.mark.django_db

MODELS = [Service, ServiceLocation, WorkingHours, Closure, Appointment]


def counts():
    return {model.__name__: model.all_organisations.count() for model in MODELS}


def test_seed_demo_twice_gives_the_same_calendars(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first["Service"] == 7
    assert first["WorkingHours"] == 3 * 5 * 2  # three locations, weekdays, with a lunch break
    assert first["Closure"] == 4


def test_demo_appointments_span_past_and_future_and_leave_time_free(capsys):
    call_command("seed_demo")
    now = timezone.now()
    appointments = Appointment.all_organisations.all()
    past = appointments.filter(start_at__lt=now)
    future = appointments.filter(start_at__gte=now)
    assert past.filter(start_at__lt=now - timedelta(days=14)).exists()
    assert future.filter(start_at__gt=now + timedelta(days=7)).exists()
    assert set(past.values_list("status", flat=True)) >= {"completed", "no_show"}
    assert not future.filter(status__in=["completed", "no_show"]).exists()
    assert not appointments.filter(customer__isnull=True).exists()

    clinic = Organisation.objects.get(slug="pacific-physio")
    with tenant_transaction(clinic):
        location = Location.objects.get()
        service = Service.objects.get(name="Follow-up session")
        today = now.astimezone(location.zone).date()
        assert find_free_slots(location, service, today, today + timedelta(days=14))
