"""Dates and times as callers say them, resolved on the server in the location's time zone.

The language model is told the local date and asked for YYYY-MM-DD, but what it passes on is
sometimes the caller's own words ("tomorrow", "el lunes", "завтра", "half past nine"); those are
resolved here against the location's today, never against UTC (a caller at 23:30 local time means
the local tomorrow).
"""

import re
from datetime import date, datetime, time, timedelta


class DateNotUnderstood(ValueError):
    pass


RELATIVE_DAYS = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "day after tomorrow": 2,
    "the day after tomorrow": 2,
    "hoy": 0,
    "mañana": 1,
    "manana": 1,
    "pasado mañana": 2,
    "pasado manana": 2,
    "сегодня": 0,
    "завтра": 1,
    "послезавтра": 2,
}
WEEKDAYS = {
    **dict.fromkeys(["monday", "mon", "lunes", "понедельник"], 0),
    **dict.fromkeys(["tuesday", "tue", "tues", "martes", "вторник"], 1),
    **dict.fromkeys(["wednesday", "wed", "miércoles", "miercoles", "среда", "среду"], 2),
    **dict.fromkeys(["thursday", "thu", "thurs", "jueves", "четверг"], 3),
    **dict.fromkeys(["friday", "fri", "viernes", "пятница", "пятницу"], 4),
    **dict.fromkeys(["saturday", "sat", "sábado", "sabado", "суббота", "субботу"], 5),
    **dict.fromkeys(["sunday", "sun", "domingo", "воскресенье"], 6),
}
NEXT_WORDS = ("next", "próximo", "proximo", "próxima", "proxima", "следующий", "следующую")
FILLER = re.compile(r"\b(this|on|el|la|este|esta|в|во|coming)\b")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")
NAMED_TIMES = {"noon": time(12), "midday": time(12), "mediodía": time(12), "mediodia": time(12)}


def resolve_date(text: str, today: date) -> date:
    """A date from "2026-05-14", "tomorrow", "next tuesday", "el lunes", "в пятницу"..."""
    words = " ".join(str(text).strip().lower().split())
    if not words:
        raise DateNotUnderstood("no date given")
    found = ISO_DATE.search(words)
    if found:
        try:
            return date(*map(int, found.groups()))
        except ValueError as exc:
            raise DateNotUnderstood(f"{text!r} is not a real date") from exc
    if words in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[words])
    explicit_next = any(words.startswith(word + " ") for word in NEXT_WORDS)
    for word in NEXT_WORDS:
        words = words.removeprefix(word + " ")
    words = " ".join(FILLER.sub(" ", words).split())
    if words in WEEKDAYS:
        ahead = (WEEKDAYS[words] - today.weekday()) % 7
        if ahead == 0 and explicit_next:
            ahead = 7
        return today + timedelta(days=ahead)
    raise DateNotUnderstood(f"{text!r} is not a date I understand")


def resolve_time(text: str) -> time:
    """A time of day from "09:30", "9.30", "9:30 pm", "14h", "noon"..."""
    words = " ".join(str(text).strip().lower().split())
    if words in NAMED_TIMES:
        return NAMED_TIMES[words]
    found = CLOCK.match(words.replace(" h", "h"))
    if not found:
        raise DateNotUnderstood(f"{text!r} is not a time I understand")
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    suffix = (found.group(3) or "").replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise DateNotUnderstood(f"{text!r} is not a time of day")
    return time(hour, minute)


def spoken_day(moment: datetime) -> str:
    """ "Tuesday 14 May" (the tools answer in English; the assistant speaks the caller's
    language)."""
    return f"{moment:%A} {moment.day} {moment:%B}"


def spoken_time(moment: datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d}"
