"""Demo calendars for each demo clinic: services for its industry, weekday opening hours with a
lunch break, a holiday and a training afternoon, and appointments over the past three weeks and
the next two, spread over the clinic's customers with realistic outcomes.

Idempotent: services and hours are looked up before they are created, and closures and
appointments are only generated for a clinic that has none (so running it another day does not
add a second set either).
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from calendars.models import Appointment, Closure, Service, WorkingHours
from organisations.models import Customer, Location, Organisation

Industry = Organisation.Industry

# name, minutes, buffer before, buffer after, price, minimum notice (minutes)
SERVICES = {
    Industry.DENTAL: [
        ("Check-up", 30, 0, 10, "60.00", 120),
        ("Hygiene clean", 45, 0, 10, "85.00", 120),
        ("Filling", 60, 5, 10, "150.00", 240),
        ("Emergency appointment", 30, 0, 10, "120.00", 0),
    ],
    Industry.PHYSIOTHERAPY: [
        ("Initial assessment", 60, 0, 10, "95.00", 240),
        ("Follow-up session", 45, 0, 10, "70.00", 120),
        ("Sports massage", 60, 0, 15, "65.00", 120),
    ],
}
DEFAULT_SERVICES = [("Consultation", 30, 0, 10, None, 120), ("Follow-up", 20, 0, 5, None, 60)]

OPENING = [(time(9), time(12, 30)), (time(13, 30), time(17))]
WEEKDAYS = range(5)
CANDIDATE_STARTS = [time(9), time(10), time(11), time(11, 30), time(14), time(15), time(16)]
PAST_DAYS, FUTURE_DAYS = 21, 14


def seed_organisation(organisation: Organisation) -> None:
    services = _services(organisation)
    locations = list(Location.objects.all())
    for location in locations:
        _opening_hours(location)
    if not Closure.objects.exists():
        _closures(locations)
    if not Appointment.objects.exists():
        rng = random.Random(organisation.slug)  # demo data, the same on every machine
        customers = list(Customer.objects.order_by("phone"))
        for location in locations:
            _appointments(location, services, customers, rng)


def _services(organisation: Organisation) -> list[Service]:
    services = []
    for name, minutes, before, after, price, notice in SERVICES.get(
        organisation.industry, DEFAULT_SERVICES
    ):
        service, _ = Service.objects.get_or_create(
            name=name,
            defaults={
                "duration": minutes,
                "buffer_before": before,
                "buffer_after": after,
                "price": Decimal(price) if price else None,
                "min_notice": notice,
                "slot_interval": 15,
            },
        )
        services.append(service)
    return services


def _opening_hours(location: Location) -> None:
    for weekday in WEEKDAYS:
        for opens, closes in OPENING:
            WorkingHours.objects.get_or_create(
                location=location, weekday=weekday, start_time=opens, defaults={"end_time": closes}
            )


def _closures(locations: list[Location]) -> None:
    today = timezone.now().date()
    christmas = date(today.year, 12, 25)
    if christmas < today:
        christmas = date(today.year + 1, 12, 25)
    Closure.objects.create(
        start_date=christmas, end_date=christmas + timedelta(days=1), reason="Christmas"
    )
    training = today + timedelta(days=9)
    training += timedelta(days=(2 - training.weekday()) % 7)  # the next Wednesday
    Closure.objects.create(
        location=locations[0],
        start_date=training,
        end_date=training,
        start_time=time(13, 30),
        reason="Staff training",
    )


def _appointments(location, services, customers, rng) -> None:
    zone = location.zone
    now = timezone.now()
    today = now.astimezone(zone).date()
    closed = [closure.local_bounds(zone) for closure in Closure.objects.all()]
    for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() not in WEEKDAYS:
            continue
        taken = []
        for opens in rng.sample(CANDIDATE_STARTS, k=rng.randint(2, 4)):
            service = rng.choice(services)
            start = datetime.combine(day, opens, tzinfo=zone)
            appointment = Appointment(location=location)
            appointment.place(start, service)
            blocked = (appointment.blocked_start, appointment.blocked_end)
            if any(s < blocked[1] and blocked[0] < e for s, e in [*taken, *closed]):
                continue
            taken.append(blocked)
            _fill(appointment, rng.choice(customers) if customers else None, now, rng)
            appointment.save()


def _fill(appointment: Appointment, customer, now, rng) -> None:
    """Who booked it, how, and (for the past) how it went."""
    Status = Appointment.Status
    if customer is not None:
        appointment.customer = customer
        appointment.name, appointment.phone = customer.name, customer.phone
        appointment.email, appointment.language = customer.email, customer.preferred_language
    appointment.source = rng.choices(
        [Appointment.Source.PHONE, Appointment.Source.DASHBOARD, Appointment.Source.API],
        weights=[6, 3, 1],
    )[0]
    appointment.confirmed_at = appointment.start_at - timedelta(days=rng.randint(1, 10))
    appointment.sms_confirmation_sent = appointment.source == Appointment.Source.PHONE
    if appointment.service.name == "Emergency appointment":
        appointment.is_emergency, appointment.urgency = True, Appointment.Urgency.URGENT
    if appointment.end_at <= now:
        appointment.status = rng.choices(
            [Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED], weights=[8, 1, 1]
        )[0]
        appointment.sms_reminder_sent = appointment.status != Status.CANCELLED
    else:
        appointment.status = rng.choices(
            [Status.CONFIRMED, Status.PENDING, Status.CANCELLED], weights=[17, 1, 2]
        )[0]
    if appointment.status == Status.PENDING:
        appointment.confirmed_at = None
    if appointment.status == Status.COMPLETED:
        appointment.completed_at = appointment.end_at
    if appointment.status == Status.CANCELLED:
        appointment.cancelled_at = appointment.start_at - timedelta(hours=rng.randint(2, 48))
        appointment.cancellation_reason = rng.choice(["Feeling better", "Work", "Rebooking later"])
