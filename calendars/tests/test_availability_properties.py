"""Property tests of the availability engine's pure core, against naive re-statements of the
rules: any hours, closures, appointments, busy blocks, buffers and notice, on ordinary days and
on the days clocks change in London and Los Angeles."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from calendars.availability import (
    IntervalSet,
    Rules,
    fits,
    free_slots,
    local_days,
    opening_intervals,
)

ZONES = [ZoneInfo("Europe/London"), ZoneInfo("America/Los_Angeles"), ZoneInfo("UTC")]
# Days the clocks change in 2026 (both zones), and an ordinary week.
AROUND = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2026, 6, 10),
]


@st.composite
def day_hours(draw):
    """Non-touching open intervals on one weekday, between 06:00 and 22:00 (clinics are not
    open in the small hours, where a wall-clock time may not exist on a change day)."""
    marks = sorted(draw(st.sets(st.integers(6 * 12, 22 * 12), max_size=6)))
    intervals = []
    for opens, closes in zip(marks[::2], marks[1::2], strict=False):
        if closes - opens >= 1 and (not intervals or opens > intervals[-1][1]):
            intervals.append((opens, closes))
    return [(time(o * 5 // 60, o * 5 % 60), time(c * 5 // 60, c * 5 % 60)) for o, c in intervals]


@st.composite
def scenarios(draw):
    zone = draw(st.sampled_from(ZONES))
    first = draw(st.sampled_from(AROUND)) - timedelta(days=draw(st.integers(0, 2)))
    last = first + timedelta(days=draw(st.integers(0, 3)))
    hours = {weekday: draw(day_hours()) for weekday in range(7)}
    origin = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    span = int((last - first).days + 1) * 24 * 60

    def intervals(max_size):
        raw = draw(
            st.lists(st.tuples(st.integers(-120, span), st.integers(5, 300)), max_size=max_size)
        )
        return [
            (origin + timedelta(minutes=s), origin + timedelta(minutes=s + length))
            for s, length in raw
        ]

    rules = Rules(
        duration=timedelta(minutes=draw(st.sampled_from([10, 15, 30, 45, 60, 90]))),
        before=timedelta(minutes=draw(st.sampled_from([0, 5, 10, 15]))),
        after=timedelta(minutes=draw(st.sampled_from([0, 5, 10, 30]))),
        step=timedelta(minutes=draw(st.sampled_from([5, 15, 20, 30]))),
    )
    earliest = origin + timedelta(minutes=draw(st.integers(-600, span)))
    latest = earliest + timedelta(minutes=draw(st.integers(0, span)))
    return {
        "zone": zone,
        "days": list(local_days(first, last)),
        "hours": hours,
        "closures": intervals(3),
        "busy": intervals(12),
        "rules": rules,
        "earliest": earliest,
        "latest": latest,
    }


def run(scenario):
    opening = opening_intervals(scenario["days"], scenario["zone"], scenario["hours"])
    return free_slots(
        opening=opening,
        closed=IntervalSet(scenario["closures"]),
        busy=IntervalSet(scenario["busy"]),
        rules=scenario["rules"],
        earliest=scenario["earliest"],
        latest=scenario["latest"],
    )


def overlaps(a_start, a_end, b_start, b_end):
    return a_start < b_end and b_start < a_end


def naive_candidates(scenario):
    """Every grid start, stated directly from the rules with plain loops."""
    zone, rules = scenario["zone"], scenario["rules"]
    for day in scenario["days"]:
        for opens, closes in scenario["hours"][day.weekday()]:
            start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
            t = start
            while t + rules.duration <= end:
                yield t
                t += rules.step


def naive_is_free(scenario, start):
    rules = scenario["rules"]
    end = start + rules.duration
    return (
        scenario["earliest"] <= start <= scenario["latest"]
        and not any(overlaps(start, end, *closure) for closure in scenario["closures"])
        and not any(
            overlaps(start - rules.before, end + rules.after, *busy) for busy in scenario["busy"]
        )
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_slot_overlaps_busy_time_closures_or_the_buffers(scenario):
    rules = scenario["rules"]
    for slot in run(scenario):
        assert slot.end - slot.start == rules.duration
        for busy in scenario["busy"]:
            assert not overlaps(slot.start - rules.before, slot.end + rules.after, *busy)
        for closure in scenario["closures"]:
            assert not overlaps(slot.start, slot.end, *closure)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_slot_lies_inside_the_local_opening_hours(scenario):
    zone = scenario["zone"]
    for slot in run(scenario):
        local_start, local_end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        assert local_start.date() == local_end.date()
        assert local_start.date() in scenario["days"]
        assert any(
            opens <= local_start.time() and local_end.time() <= closes
            for opens, closes in scenario["hours"][local_start.weekday()]
        ), f"{local_start:%a %H:%M}-{local_end:%H:%M} is outside the opening hours"


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_slots_are_exactly_the_free_grid_times_in_order(scenario):
    expected = sorted(t for t in naive_candidates(scenario) if naive_is_free(scenario, t))
    assert [slot.start for slot in run(scenario)] == expected


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_fits_agrees_with_the_slots(scenario):
    opening = opening_intervals(scenario["days"], scenario["zone"], scenario["hours"])
    arguments = {
        "opening": IntervalSet(opening),
        "closed": IntervalSet(scenario["closures"]),
        "busy": IntervalSet(scenario["busy"]),
        "rules": scenario["rules"],
        "earliest": scenario["earliest"],
        "latest": scenario["latest"],
    }
    slots = {slot.start for slot in run(scenario)}
    for candidate in naive_candidates(scenario):
        assert fits(candidate, **arguments) == (candidate in slots)
