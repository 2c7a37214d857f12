"""Free appointment slots, from local data only.

The phone assistant asks while a caller waits, so this module never calls a provider: external
calendars are copied into `BusyBlock` rows in the background (calendars.sync) and booking
re-checks them (calendars.booking). A search runs five queries whatever the amount of data.

How a slot is decided, for a location and a service:

* Opening hours are wall-clock intervals per weekday. For each local date they are turned into
  UTC with the location's time zone, so "9:00" is 9:00 on both sides of a daylight-saving change
  and a DST day is as long as it really is. Adjacent or overlapping intervals are merged.
* Candidate starts step by the service's `slot_interval` from the start of each opening interval.
* The appointment itself, [start, start + duration), must lie inside one opening interval and
  outside every closure.
* The appointment with its buffers, [start - buffer_before, end + buffer_after), must not
  overlap another appointment's blocked interval (which includes that appointment's buffers) or
  an external busy block.
* The start must be at least `min_notice` minutes from now and on or before the last day of the
  booking horizon (today + `booking_horizon` days, in the location's calendar).

The pure functions below work on plain intervals so they can be property-tested without a
database; the public functions load the data and call them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from calendars.models import Appointment, BusyBlock, Closure, Service, WorkingHours
from organisations.models import Location

Interval = tuple[datetime, datetime]
WeeklyHours = dict[int, list[tuple[time, time]]]

# nearest_free_slots looks this many days either side of the wanted time, widening in turn.
NEAREST_SEARCH_RADII = (3, 14, 60)


@dataclass(frozen=True, order=True)
class Slot:
    """A bookable time: aware datetimes in UTC; `end` excludes the buffers."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rules:
    """A service's timing, as timedeltas."""

    duration: timedelta
    before: timedelta = timedelta(0)
    after: timedelta = timedelta(0)
    step: timedelta = timedelta(minutes=15)

    @classmethod
    def of(cls, service: Service) -> Rules:
        return cls(
            duration=service.length,
            before=service.before,
            after=service.after,
            step=timedelta(minutes=service.slot_interval),
        )


# ---------------------------------------------------------------------------------------------
# Pure interval arithmetic


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time (touching ones are joined)."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """The parts of `intervals` that no interval of `cuts` covers, merged and sorted."""
    remaining: list[Interval] = []
    cuts = merge(cuts)
    for start, end in merge(intervals):
        for cut_start, cut_end in cuts:
            if cut_start >= end:
                break
            if cut_end <= start:
                continue
            if cut_start > start:
                remaining.append((start, cut_start))
            start = cut_end
            if start >= end:
                break
        if start < end:
            remaining.append((start, end))
    return remaining


class IntervalSet:
    """Merged intervals with a fast "does [a, b) overlap any of you?" test."""

    def __init__(self, intervals: Iterable[Interval]):
        self.intervals = merge(intervals)
        self._ends = [end for _, end in self.intervals]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # The first interval ending after `start` is the only one that can overlap [start, end).
        index = bisect_right(self._ends, start)
        return index < len(self.intervals) and self.intervals[index][0] < end

    def containing(self, start: datetime, end: datetime) -> Interval | None:
        index = bisect_right(self._ends, start)
        if index < len(self.intervals):
            window = self.intervals[index]
            if window[0] <= start and end <= window[1]:
                return window
        # An interval ending exactly at `start` cannot contain a non-empty [start, end).
        return None


def local_days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def opening_intervals(days: Iterable[date], zone: ZoneInfo, hours: WeeklyHours) -> list[Interval]:
    """The opening hours of `days` as merged UTC intervals."""
    intervals = []
    for day in days:
        for opens, closes in hours.get(day.weekday(), ()):
            start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
            if start < end:
                intervals.append((start, end))
    return merge(intervals)


def free_slots(
    *,
    opening: Sequence[Interval],
    closed: IntervalSet,
    busy: IntervalSet,
    rules: Rules,
    earliest: datetime,
    latest: datetime,
    limit: int | None = None,
) -> list[Slot]:
    """Every slot that fits, stepping from the start of each opening interval."""
    slots: list[Slot] = []
    for window_start, window_end in opening:
        start = window_start
        if start < earliest:
            steps = -((window_start - earliest) // rules.step)  # ceiling division
            start = window_start + steps * rules.step
        while start + rules.duration <= window_end and start <= latest:
            end = start + rules.duration
            if not closed.overlaps(start, end) and not busy.overlaps(
                start - rules.before, end + rules.after
            ):
                slots.append(Slot(start, end))
                if limit is not None and len(slots) >= limit:
                    return slots
            start += rules.step
    return slots


def fits(
    start: datetime,
    *,
    opening: IntervalSet,
    closed: IntervalSet,
    busy: IntervalSet,
    rules: Rules,
    earliest: datetime,
    latest: datetime,
) -> bool:
    """Whether an appointment may start at `start` (any minute, not only on the slot grid)."""
    end = start + rules.duration
    return (
        earliest <= start <= latest
        and opening.containing(start, end) is not None
        and not closed.overlaps(start, end)
        and not busy.overlaps(start - rules.before, end + rules.after)
    )


# ---------------------------------------------------------------------------------------------
# Loading a location's calendar


@dataclass
class _Calendar:
    opening: list[Interval]
    closed: IntervalSet
    busy: IntervalSet
    earliest: datetime
    latest: datetime


def booking_window(service: Service, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest start the service may be booked at, as of `now`."""
    earliest = now + timedelta(minutes=service.min_notice)
    last_day = now.astimezone(zone).date() + timedelta(days=service.booking_horizon)
    latest = datetime.combine(last_day, time.max, tzinfo=zone).astimezone(UTC)
    return earliest, latest


def _weekly_hours(location: Location) -> WeeklyHours:
    hours: WeeklyHours = defaultdict(list)
    rows = WorkingHours.objects.filter(location=location).values_list(
        "weekday", "start_time", "end_time"
    )
    for weekday, opens, closes in rows:
        hours[weekday].append((opens, closes))
    return hours


def _closures(location: Location, first: date, last: date) -> list[Interval]:
    closures = Closure.objects.filter(
        Q(location=location) | Q(location__isnull=True),
        start_date__lte=last,
        end_date__gte=first,
    )
    zone = location.zone
    return [
        tuple(bound.astimezone(UTC) for bound in closure.local_bounds(zone)) for closure in closures
    ]


def _busy(location: Location, start: datetime, end: datetime, ignore=None) -> list[Interval]:
    appointments = Appointment.objects.filter(
        location=location,
        status__in=Appointment.HOLDS_TIME,
        blocked_start__lt=end,
        blocked_end__gt=start,
    )
    if ignore is not None:
        appointments = appointments.exclude(pk=ignore.pk)
    blocks = BusyBlock.objects.filter(location=location, start_at__lt=end, end_at__gt=start)
    return [
        *appointments.values_list("blocked_start", "blocked_end"),
        *blocks.values_list("start_at", "end_at"),
    ]


def _load(
    location: Location,
    service: Service,
    first: date,
    last: date,
    now: datetime,
    ignore: Appointment | None = None,
) -> _Calendar | None:
    """Everything needed to place `service` on local dates first..last, or None when it cannot
    be booked there at all."""
    if not service.active or not service.is_offered_at(location):
        return None
    zone = location.zone
    earliest, latest = booking_window(service, zone, now)
    first = max(first, earliest.astimezone(zone).date())
    last = min(last, latest.astimezone(zone).date())
    if first > last:
        return None
    opening = opening_intervals(local_days(first, last), zone, _weekly_hours(location))
    if not opening:
        return None
    span_start = opening[0][0] - service.before
    span_end = opening[-1][1] + service.after
    return _Calendar(
        opening=opening,
        closed=IntervalSet(_closures(location, first, last)),
        busy=IntervalSet(_busy(location, span_start, span_end, ignore)),
        earliest=earliest,
        latest=latest,
    )


# ---------------------------------------------------------------------------------------------
# The public API (used by the assistant's tools, the dashboard and booking)


def find_free_slots(
    location: Location,
    service: Service,
    start_date: date,
    end_date: date,
    *,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots for `service` at `location` on the location's local dates start_date to
    end_date inclusive, in time order (at most `limit`). Runs in the current tenant."""
    calendar = _load(location, service, start_date, end_date, now or timezone.now())
    if calendar is None:
        return []
    return free_slots(
        opening=calendar.opening,
        closed=calendar.closed,
        busy=calendar.busy,
        rules=Rules.of(service),
        earliest=calendar.earliest,
        latest=calendar.latest,
        limit=limit,
    )


def nearest_free_slots(
    location: Location,
    service: Service,
    around: datetime,
    *,
    count: int = 3,
    now: datetime | None = None,
) -> list[Slot]:
    """The `count` free slots closest to `around` (before or after it), in time order.

    Used to offer alternatives when a wanted time is taken; looks a few days either side first
    and widens only when that finds too few.
    """
    now = now or timezone.now()
    day = around.astimezone(location.zone).date()
    slots: list[Slot] = []
    for radius in NEAREST_SEARCH_RADII:
        slots = find_free_slots(
            location,
            service,
            day - timedelta(days=radius),
            day + timedelta(days=radius),
            now=now,
        )
        if len(slots) >= count:
            break
    nearest = sorted(slots, key=lambda slot: (abs(slot.start - around), slot.start))[:count]
    return sorted(nearest)


def is_bookable(
    location: Location,
    service: Service,
    start: datetime,
    *,
    now: datetime | None = None,
    ignore: Appointment | None = None,
) -> bool:
    """Whether `service` can start at `start` at `location` (local data only). `ignore` is an
    appointment being moved, whose own time does not count as taken."""
    zone = location.zone
    local_start = start.astimezone(zone)
    # Opening intervals never cross midnight, so the appointment's own local date is enough;
    # the day after covers an appointment that runs past midnight (and so fits nowhere).
    calendar = _load(
        location,
        service,
        local_start.date(),
        (local_start + service.length).date(),
        now or timezone.now(),
        ignore,
    )
    if calendar is None:
        return False
    return fits(
        start.astimezone(UTC),
        opening=IntervalSet(calendar.opening),
        closed=calendar.closed,
        busy=calendar.busy,
        rules=Rules.of(service),
        earliest=calendar.earliest,
        latest=calendar.latest,
    )
