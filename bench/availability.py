"""Benchmark: a 14-day free-slot search, the question the phone assistant asks mid-call.

Builds a throwaway test database (never your dev data), fills it with clinics that each have two
locations, opening hours, services, closures, external busy blocks and appointments spread over
the past and coming months, then times `find_free_slots` for 14 days for random clinics.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fd_bench \
        .venv/bin/python bench/availability.py --organisations 200 --appointments 500

Target (issue 3): median under 10 ms. Prints median, p95 and queries per search.
"""

import argparse
import os
import random
import statistics
import sys
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from calendars.availability import find_free_slots  # noqa: E402
from calendars.models import (  # noqa: E402
    Appointment,
    BusyBlock,
    CalendarConnection,
    Closure,
    Service,
    WorkingHours,
)
from organisations.models import Location, Organisation  # noqa: E402
from organisations.tenancy import platform_access, tenant_transaction  # noqa: E402

ZONES = ["Europe/London", "America/Los_Angeles", "America/New_York", "Europe/Madrid"]


def build(organisations: int, appointments_per_location: int, rng: random.Random) -> list:
    """Returns [(organisation, location, service)] to search."""
    targets = []
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with platform_access():
        for n in range(organisations):
            organisation = Organisation.objects.create(name=f"Bench clinic {n}", slug=f"bench-{n}")
            services = Service.all_organisations.bulk_create(
                Service(organisation=organisation, name=name, duration=minutes, buffer_after=10)
                for name, minutes in [("Check-up", 30), ("Clean", 45), ("Treatment", 60)]
            )
            for site in range(2):
                location = Location.all_organisations.create(
                    organisation=organisation, name=f"Site {site}", timezone=rng.choice(ZONES)
                )
                WorkingHours.all_organisations.bulk_create(
                    WorkingHours(
                        organisation=organisation,
                        location=location,
                        weekday=weekday,
                        start_time=opens,
                        end_time=closes,
                    )
                    for weekday in range(6)
                    for opens, closes in [(time(8), time(12, 30)), (time(13, 30), time(19))]
                )
                Closure.all_organisations.create(
                    organisation=organisation,
                    location=location,
                    start_date=now.date() + timedelta(days=rng.randint(1, 13)),
                    end_date=now.date() + timedelta(days=14),
                    start_time=time(15),
                )
                calendar = CalendarConnection.all_organisations.create(
                    organisation=organisation, location=location, provider="google"
                )
                BusyBlock.all_organisations.bulk_create(
                    BusyBlock(
                        organisation=organisation,
                        connection=calendar,
                        location=location,
                        start_at=(start := now + timedelta(hours=rng.randint(0, 24 * 30))),
                        end_at=start + timedelta(minutes=rng.choice([30, 60, 90])),
                    )
                    for _ in range(40)
                )
                rows = []
                for _ in range(appointments_per_location):
                    service = rng.choice(services)
                    appointment = Appointment(
                        organisation=organisation, location=location, name="Bench", phone=""
                    )
                    # Over the past two months and the next one; overlaps are fine here (no
                    # constraint on SQLite, and on PostgreSQL only a few are cancelled ones).
                    hours = rng.randint(-24 * 60, 24 * 30)
                    appointment.place(now + timedelta(hours=hours), service)
                    appointment.status = "cancelled"
                    rows.append(appointment)
                Appointment.all_organisations.bulk_create(rows)
                # Make the coming fortnight's appointments real: one per slot that is free.
                _book_upcoming(organisation, location, services[0], now, rng)
                targets.append((organisation, location, rng.choice(services)))
    return targets


def _book_upcoming(organisation, location, service, now, rng):
    rows = []
    for hour in range(0, 24 * 14, 2):
        if rng.random() < 0.5:
            appointment = Appointment(organisation=organisation, location=location, name="Bench")
            appointment.place(now + timedelta(hours=hour), service)
            rows.append(appointment)
    Appointment.all_organisations.bulk_create(rows)


def measure(targets: list, runs: int, rng: random.Random) -> tuple[list[float], int]:
    timings, queries = [], 0
    for _ in range(runs):
        organisation, location, service = rng.choice(targets)
        with tenant_transaction(organisation):
            today = datetime.now(UTC).astimezone(location.zone).date()
            with CaptureQueriesContext(connection) as captured:
                started = clock.perf_counter()
                find_free_slots(location, service, today, today + timedelta(days=13))
                timings.append((clock.perf_counter() - started) * 1000)
        queries = max(queries, len(captured))
    return timings, queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--organisations", type=int, default=100)
    parser.add_argument("--appointments", type=int, default=400, help="per location")
    parser.add_argument("--runs", type=int, default=300)
    options = parser.parse_args()
    rng = random.Random(3)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        started = clock.perf_counter()
        targets = build(options.organisations, options.appointments, rng)
        total = Appointment.all_organisations.count()
        print(
            f"{connection.vendor}: {options.organisations} organisations, "
            f"{total} appointments, built in {clock.perf_counter() - started:.0f} s"
        )
        measure(targets, 20, rng)  # warm up caches and connections
        timings, queries = measure(targets, options.runs, rng)
        timings.sort()
        print(
            f"14-day search: median {statistics.median(timings):.2f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms, "
            f"max {timings[-1]:.2f} ms, {queries} queries"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
