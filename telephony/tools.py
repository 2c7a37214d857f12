"""The assistant's tools: one function per tool, one registry.

Each tool validates its arguments and answers one sentence the assistant can say. Problems the
assistant must fix (a missing name, a date that is not a date) raise `ToolError`, which goes back
to the model as the tool call's `error`; anything unexpected is logged and answered with a
generic error, never an HTTP error (Vapi ignores tool answers that are not HTTP 200).

Dates are resolved here, in the location's time zone. Bookings go through calendars.booking,
which re-checks the slot inside the transaction that inserts (and PostgreSQL refuses overlaps);
the idempotency key is the call and tool call id, so a repeated tool call never books twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from calendars import availability, booking
from calendars.models import Appointment, Service
from organisations.models import Customer, Location, Notification
from organisations.phone import normalise_phone
from organisations.tenancy import current_organisation
from telephony import oncall, sms
from telephony.dates import DateNotUnderstood, resolve_date, resolve_time, spoken_day, spoken_time
from telephony.models import AssistantSettings, Call, CallAppointment, CallTransfer

if TYPE_CHECKING:
    from telephony.assistant import Snapshot

logger = logging.getLogger(__name__)
MOST_SLOTS_OFFERED = 6
DAY_PARTS = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}
URGENCIES = [choice for choice, _label in Appointment.Urgency.choices]


class ToolError(Exception):
    """A problem the assistant can act on; its message is the tool call's `error`."""


@dataclass
class ToolContext:
    call: Call
    location: Location
    snapshot: Snapshot
    now: datetime
    tool_call_id: str = ""
    # Fields of `call` the tools changed, saved once after all tool calls of a message.
    changed: set = field(default_factory=set)

    @property
    def today(self) -> date:
        return self.local(self.now).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.location.zone)

    def mark(self, *fields: str) -> None:
        self.changed.update(fields)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict
    function: Callable[[ToolContext, dict], str]


TOOLS: dict[str, Tool] = {}


def tool(description: str, properties: dict, required: tuple[str, ...] = ()):
    def register(function):
        TOOLS[function.__name__] = Tool(
            name=function.__name__,
            description=description,
            parameters={"type": "object", "properties": properties, "required": list(required)},
            function=function,
        )
        return function

    return register


def specs() -> list[Tool]:
    return list(TOOLS.values())


def run(context: ToolContext, tool_call_id: str, name: str, arguments: dict | None):
    """Run one tool call; returns (result, error), exactly one of them non-empty."""
    context.tool_call_id = tool_call_id
    found = TOOLS.get(name)
    result = error = ""
    if found is None:
        error = f"There is no tool called {name}."
    elif arguments is None:
        error = "The arguments were not a JSON object; call the tool again with valid arguments."
    else:
        try:
            # A savepoint per tool call: a failure leaves no half-made rows behind.
            with transaction.atomic():
                result = found.function(context, arguments)
        except ToolError as exc:
            error = str(exc)
        except Exception:
            logger.exception("Tool %s failed on call %s", name, context.call.pk)
            error = "Something went wrong on our side. Apologise and offer to take a message."
    context.call.record_tool(name, tool_call_id, result=result, error=error)
    context.mark("tools_used")
    return result, error


# ---------------------------------------------------------------------------------------------
# Argument helpers


def _text(args: dict, key: str, *, required: bool = False, limit: int = 500) -> str:
    value = args.get(key)
    value = "" if value is None else " ".join(str(value).split())
    if required and not value:
        raise ToolError(f"Ask the caller for {key.replace('_', ' ')} and call the tool again.")
    return value[:limit]


def _day(context: ToolContext, text: str, *, allow_past: bool = False) -> date:
    try:
        day = resolve_date(text, context.today)
    except DateNotUnderstood as exc:
        raise ToolError(f"{exc}. Ask the caller for the date and pass it as YYYY-MM-DD.") from exc
    if day < context.today and not allow_past:
        raise ToolError(
            f"{spoken_day(_noon(context, day))} has already passed. Ask for a later date."
        )
    return day


def _noon(context: ToolContext, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=context.location.zone)


def _moment(context: ToolContext, day: date, time_text: str) -> datetime:
    try:
        at = resolve_time(time_text)
    except DateNotUnderstood as exc:
        raise ToolError(f"{exc}. Pass the time as HH:MM (24-hour clock).") from exc
    moment = datetime.combine(day, at, tzinfo=context.location.zone)
    if moment <= context.now:
        raise ToolError("That time has already passed. Offer a later one.")
    return moment


def _phone(context: ToolContext, raw: str) -> str:
    if not raw:
        return context.call.customer_phone
    try:
        return normalise_phone(raw, current_organisation().country)
    except ValidationError as exc:
        raise ToolError(f"{raw} is not a phone number. Ask the caller to repeat it.") from exc


def _services(context: ToolContext):
    return (
        Service.objects.filter(active=True)
        .filter(Q(locations=context.location) | Q(locations__isnull=True))
        .distinct()
        .order_by("name")
    )


def _service(context: ToolContext, name: str) -> Service:
    services = list(_services(context))
    if not services:
        raise ToolError("No services can be booked here. Offer to take a message.")
    if not name:
        if len(services) == 1:
            return services[0]
        raise ToolError(f"Ask which service the caller wants: {_or(s.name for s in services)}.")
    wanted = name.lower()
    exact = [s for s in services if s.name.lower() == wanted]
    close = exact or [s for s in services if wanted in s.name.lower() or s.name.lower() in wanted]
    if len(close) == 1:
        return close[0]
    raise ToolError(
        f"There is no service called {name}. The services are {_or(s.name for s in services)}."
    )


def _or(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _slots_sentence(context: ToolContext, slots) -> str:
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        local = context.local(slot.start)
        days.setdefault(local.date(), []).append(local)
    return "; ".join(
        f"{spoken_day(times[0])} at {_or(spoken_time(t) for t in times)}" for times in days.values()
    )


def _alternatives(context: ToolContext, service: Service, around: datetime, slots=None) -> str:
    slots = slots or availability.nearest_free_slots(
        context.location, service, around, count=3, now=context.now
    )
    if not slots:
        return "Nothing else is free soon; offer to take a message."
    return f"The nearest free times are {_slots_sentence(context, slots)}."


def _idempotency_key(context: ToolContext) -> str:
    return f"call:{context.call.pk}:{context.tool_call_id}"[:200]


def _bookings_allowed(context: ToolContext) -> None:
    snapshot = context.snapshot
    if (
        not snapshot.is_open(context.now)
        and snapshot.after_hours_behaviour != AssistantSettings.AfterHours.BOOK_ANYWAY
    ):
        raise ToolError("The clinic does not book while it is closed. Take a message instead.")


def _language(context: ToolContext) -> str:
    call = context.call
    if call.language:
        return call.language[:2]
    if call.customer_id and call.customer:
        return call.customer.preferred_language
    return context.snapshot.default_language


def _callers_appointment(context: ToolContext, on_date: str) -> Appointment:
    call = context.call
    who = Q(phone=call.customer_phone) if call.customer_phone else Q(pk__in=[])
    if call.customer_id:
        who |= Q(customer_id=call.customer_id)
    appointments = Appointment.objects.select_related("service", "location").filter(
        who, status__in=Appointment.OPEN, start_at__gt=context.now
    )
    if on_date:
        day = _day(context, on_date)
        start = datetime.combine(day, datetime.min.time(), tzinfo=context.location.zone)
        appointments = appointments.filter(
            start_at__gte=start, start_at__lt=start + timedelta(days=1)
        )
    found = list(appointments.order_by("start_at")[:5])
    if not found:
        raise ToolError(
            "I cannot find an upcoming appointment for this caller"
            + (" on that date" if on_date else "")
            + ". Ask for the date of the appointment, or take a message."
        )
    if len(found) > 1:
        listed = _or(_appointment_words(context, a) for a in found)
        raise ToolError(
            f"The caller has several upcoming appointments: {listed}. Ask which one and pass its "
            "date as current_date."
        )
    return found[0]


def _when(context: ToolContext, moment: datetime) -> str:
    local = context.local(moment)
    return f"{spoken_day(local)} at {spoken_time(local)}"


def _appointment_words(context: ToolContext, appointment: Appointment) -> str:
    return f"{appointment.service.name} on {_when(context, appointment.start_at)}"


def _link(context: ToolContext, appointment: Appointment, action: str, outcome: str) -> None:
    CallAppointment.objects.get_or_create(
        call=context.call,
        appointment=appointment,
        action=action,
        defaults={"tool_call_id": context.tool_call_id},
    )
    if context.call.raise_outcome(outcome):
        context.mark("outcome")


# ---------------------------------------------------------------------------------------------
# The tools

DATE = {"type": "string", "description": "YYYY-MM-DD, or the caller's words (tomorrow, Monday)"}
TIME = {"type": "string", "description": "HH:MM, 24-hour clock, local time"}
SERVICE = {"type": "string", "description": "The service's name, as listed in your instructions"}


@tool(
    "Find free appointment times on a day. Call it before offering any time.",
    {
        "date": DATE,
        "service": SERVICE,
        "time_of_day": {"type": "string", "enum": ["any", *DAY_PARTS]},
    },
    required=("date",),
)
def check_availability(context: ToolContext, args: dict) -> str:
    service = _service(context, _text(args, "service"))
    day = _day(context, _text(args, "date", required=True))
    slots = availability.find_free_slots(context.location, service, day, day, now=context.now)
    part = DAY_PARTS.get(_text(args, "time_of_day").lower())
    if part:
        slots = [s for s in slots if part[0] <= context.local(s.start).hour < part[1]]
    if not slots:
        noon = _noon(context, day)
        alternatives = _alternatives(context, service, noon)
        return f"Nothing is free for {service.name} on {spoken_day(noon)}. {alternatives}"
    offered = slots[:MOST_SLOTS_OFFERED]
    verb = "is" if len(offered) == 1 else "are"
    return f"{_slots_sentence(context, offered)} {verb} free for {service.name}."


@tool(
    "Book an appointment once the caller has chosen a free time and given their name.",
    {
        "date": DATE,
        "time": TIME,
        "name": {"type": "string", "description": "The caller's full name"},
        "service": SERVICE,
        "phone": {"type": "string", "description": "Only if different from the caller's number"},
        "notes": {"type": "string", "description": "Reason for the visit, in a few words"},
        "urgency": {"type": "string", "enum": URGENCIES},
    },
    required=("date", "time", "name"),
)
def book_appointment(context: ToolContext, args: dict) -> str:
    _bookings_allowed(context)
    service = _service(context, _text(args, "service"))
    start = _moment(
        context,
        _day(context, _text(args, "date", required=True)),
        _text(args, "time", required=True),
    )
    name = _text(args, "name", required=True, limit=200)
    phone = _phone(context, _text(args, "phone"))
    if not phone:
        raise ToolError("Ask for a phone number to book under, then call the tool again.")
    call = context.call
    customer = Customer.for_phone(phone, name=name)
    if phone == call.customer_phone and call.customer_id != customer.pk:
        call.customer = customer
        context.mark("customer")
    urgency = _text(args, "urgency").lower()
    try:
        appointment = booking.book_appointment(
            location=context.location,
            service=service,
            start=start,
            customer=customer,
            name=name,
            phone=phone,
            source="phone",
            notes=_text(args, "notes", limit=1000),
            language=_language(context),
            urgency=urgency if urgency in URGENCIES else "normal",
            is_emergency=call.is_emergency,
            idempotency_key=_idempotency_key(context),
        )
    except booking.SlotUnavailable as exc:
        alternatives = _alternatives(context, service, start, exc.alternatives)
        return f"Sorry, {_when(context, start)} is no longer free. {alternatives}"
    _link(context, appointment, CallAppointment.Action.BOOKED, Call.Outcome.BOOKED)
    return f"Booked: {_appointment_words(context, appointment)} for {name}."


@tool(
    "Move the caller's upcoming appointment to a new free time.",
    {
        "new_date": DATE,
        "new_time": TIME,
        "current_date": {
            "type": "string",
            "description": "Date of the appointment to move, if the caller has several",
        },
    },
    required=("new_date", "new_time"),
)
def reschedule_appointment(context: ToolContext, args: dict) -> str:
    _bookings_allowed(context)
    appointment = _callers_appointment(context, _text(args, "current_date"))
    new_start = _moment(
        context,
        _day(context, _text(args, "new_date", required=True)),
        _text(args, "new_time", required=True),
    )
    before = _appointment_words(context, appointment)
    try:
        moved = booking.reschedule_appointment(
            appointment, new_start, idempotency_key=_idempotency_key(context)
        )
    except booking.SlotUnavailable as exc:
        alternatives = _alternatives(context, appointment.service, new_start, exc.alternatives)
        return f"Sorry, {_when(context, new_start)} is not free. {alternatives}"
    except booking.InvalidTransition as exc:
        raise ToolError(f"That appointment cannot be moved: {exc}") from exc
    moved = moved or appointment
    _link(context, moved, CallAppointment.Action.RESCHEDULED, Call.Outcome.RESCHEDULED)
    return f"Moved {before} to {_when(context, new_start)}."


@tool(
    "Cancel the caller's upcoming appointment after they have confirmed which one.",
    {
        "date": {"type": "string", "description": "Date of the appointment, if several"},
        "reason": {"type": "string"},
    },
)
def cancel_appointment(context: ToolContext, args: dict) -> str:
    appointment = _callers_appointment(context, _text(args, "date"))
    words = _appointment_words(context, appointment)
    try:
        booking.cancel_appointment(appointment, reason=_text(args, "reason", limit=300))
    except booking.InvalidTransition as exc:
        raise ToolError(f"That appointment cannot be cancelled: {exc}") from exc
    _link(context, appointment, CallAppointment.Action.CANCELLED, Call.Outcome.CANCELLED)
    return f"Cancelled {words}."


@tool(
    "Look up whether the caller (or another number) is a known patient and their upcoming "
    "appointments.",
    {"phone": {"type": "string", "description": "Only if asked about a different number"}},
)
def find_customer(context: ToolContext, args: dict) -> str:
    phone = _phone(context, _text(args, "phone"))
    if not phone:
        return "The caller's number is withheld, so they cannot be looked up; ask for their name."
    customer = Customer.objects.filter(phone=phone).first()
    upcoming = list(
        Appointment.objects.select_related("service")
        .filter(
            Q(customer=customer) | Q(phone=phone) if customer else Q(phone=phone),
            status__in=Appointment.OPEN,
            start_at__gt=context.now,
        )
        .order_by("start_at")[:3]
    )
    # Every caller gets a customer record when the call starts: one first seen on this very call,
    # with no name and nothing booked, is a new patient.
    seen_before = customer is not None and (
        customer.name
        or (customer.first_contact_at and customer.first_contact_at < context.call.created_at)
    )
    if not seen_before and not upcoming:
        return "There is no patient record for this number: treat them as a new patient."
    who = customer.name if customer and customer.name else "A patient with no name on file"
    language = customer.get_preferred_language_display() if customer else "unknown language"
    booked = (
        f" Upcoming: {'; '.join(_appointment_words(context, a) for a in upcoming)}."
        if upcoming
        else " No upcoming appointments."
    )
    return f"{who}, a returning patient (prefers {language}).{booked}"


@tool(
    "Take a message for the clinic's team, who will call back.",
    {
        "message": {"type": "string", "description": "What the caller wants, in their words"},
        "name": {"type": "string"},
        "callback_number": {"type": "string", "description": "If not the number they called from"},
        "urgency": {"type": "string", "enum": ["low", "normal", "high"]},
    },
    required=("message",),
)
def take_message(context: ToolContext, args: dict) -> str:
    message = _text(args, "message", required=True, limit=1000)
    name = _text(args, "name", limit=200)
    callback = _phone(context, _text(args, "callback_number"))
    call = context.call
    entry = f"{name or 'Caller'} ({callback or 'number withheld'}): {message}"
    call.caller_message = f"{call.caller_message}\n{entry}".strip()
    context.mark("caller_message")
    if call.raise_outcome(Call.Outcome.MESSAGE):
        context.mark("outcome")
    urgent = _text(args, "urgency").lower() == "high"
    Notification.notify(
        f"Message from {name or callback or 'a caller'}",
        body=message,
        level=Notification.Level.WARNING if urgent else Notification.Level.INFO,
        link=reverse("telephony:call", args=[call.pk]),
    )
    staff_number = context.snapshot.message_notify_number
    if staff_number:
        organisation = current_organisation()
        sms.queue(
            staff_number,
            sms.render(
                "message_taken",
                organisation.default_language,
                clinic=organisation.name,
                caller=name or "a caller",
                phone=callback or "withheld",
                message=message,
            ),
            template_key="message_taken",
            language=organisation.default_language,
            location=context.location,
            call=call,
        )
    where = f" on {callback}" if callback else ""
    return f"Message taken; the team will call back{where}."


@tool(
    "Hand the call to a person. Afterwards tell the caller you are putting them through and use "
    "the transferCall tool.",
    {
        "reason": {"type": "string"},
        "urgency": {"type": "string", "enum": [c for c, _ in CallTransfer.Urgency.choices]},
        "summary": {"type": "string", "description": "One or two sentences for the person"},
        "caller_name": {"type": "string"},
    },
    required=("reason",),
)
def transfer_call(context: ToolContext, args: dict) -> str:
    snapshot = context.snapshot
    urgency = _text(args, "urgency").lower()
    if urgency not in CallTransfer.Urgency.values:
        urgency = CallTransfer.Urgency.EMERGENCY if context.call.is_emergency else "normal"
    transfer = oncall.start_transfer(
        context.call,
        context.location,
        transfer_number=snapshot.transfer_number,
        mode=snapshot.transfer_mode,
        is_open=snapshot.is_open(context.now),
        reason=_text(args, "reason", required=True, limit=255),
        urgency=urgency,
        summary=_text(args, "summary", limit=1000),
        customer_name=_text(args, "caller_name", limit=200),
        tool_call_id=context.tool_call_id,
    )
    if transfer is None:
        return "Nobody can take the call right now. Apologise and take a message instead."
    if context.call.raise_outcome(Call.Outcome.TRANSFERRED):
        context.mark("outcome")
    return (
        f"Transfer to {transfer.destination_label} is ready: tell the caller, then use "
        "transferCall."
    )


@tool(
    "Report an emergency the caller describes (severe pain, bleeding, trauma, breathing "
    "problems). Alerts the person on call at once.",
    {
        "description": {"type": "string", "description": "One sentence: what is happening"},
        "urgency_score": {"type": "number", "description": "0 (minor) to 1 (life-threatening)"},
    },
    required=("description",),
)
def flag_emergency(context: ToolContext, args: dict) -> str:
    description = _text(args, "description", required=True, limit=500)
    score = args.get("urgency_score")
    call = context.call
    call.is_emergency = True
    if isinstance(score, int | float) and not isinstance(score, bool):
        call.urgency_score = round(min(max(float(score), 0.0), 1.0), 2)
    call.raise_outcome(Call.Outcome.EMERGENCY)
    call.save(update_fields=["is_emergency", "urgency_score", "outcome"])
    alert = oncall.raise_emergency(call, context.location, summary=description)
    emergency = context.snapshot.emergency_number
    if alert is None or alert.contact is None:
        return (
            f"Nobody on call could be alerted; the staff have been notified. If anyone is in "
            f"danger, tell the caller to call {emergency} now; otherwise take a message."
        )
    return (
        f"{alert.contact.name} ({alert.contact.role or 'on call'}) has been alerted. If anyone is "
        f"in danger, tell the caller to hang up and call {emergency} now; otherwise offer to "
        "transfer them."
    )
