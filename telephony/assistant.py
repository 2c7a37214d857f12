"""The transient assistant: what the voice platform is told when a call comes in.

Vapi gives `assistant-request` 7.5 s end to end, so the answer comes from local data only, in a
constant number of queries: everything that only changes when someone edits settings (the
location, assistant settings, voice, intents, opening hours, closures, services) is loaded once
into a `Snapshot` and cached per number under the organisation's cache key; it is dropped
whenever one of those rows changes (telephony.signals) and expires anyway after
TELEPHONY_ASSISTANT_CACHE_SECONDS. What depends on the moment (local date and time, open or
closed) is computed per call from the snapshot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import formats, timezone, translation

from billing import entitlements
from calendars.models import Closure, Service, WorkingHours
from organisations.models import LANGUAGES, Customer, Organisation
from organisations.phone import normalise_phone
from organisations.tenancy import current_organisation, tenant, tenant_cache_key
from telephony import tools
from telephony.models import AssistantSettings, Call, Intent, PhoneNumber, VoiceAgent

LANGUAGE_NAMES = dict(LANGUAGES)
EMERGENCY_NUMBERS = {"US": "911", "CA": "911", "GB": "999", "IE": "112", "AU": "000", "NZ": "111"}
CATALOGUE_VERSION_KEY = "telephony:voice-agent-catalogue-version"
NOT_IN_SERVICE = "Sorry, the number you have called is not in service."
BLOCKED = "Sorry, this line cannot take your call."
UNAVAILABLE = "Sorry, we cannot take your call right now. Please try again later."
FALLBACK_AGENT = {
    "agent_name": "Receptionist",
    "voice_provider": "11labs",
    "voice_id": "sarah",
    "voice_model": "",
    "model_provider": "openai",
    "model": "gpt-4o",
    "transcriber_provider": "deepgram",
    "transcriber_model": "nova-3",
    "base_prompt": "You are the warm, efficient receptionist of {clinic}.",
}


@dataclass(frozen=True)
class IntentInfo:
    name: str
    phrases: tuple[str, ...]
    answers: dict
    action: str


@dataclass(frozen=True)
class Snapshot:
    """Everything about a number that only changes when someone edits settings."""

    organisation_id: str
    organisation_name: str
    country: str
    default_language: str
    location_id: str
    location_name: str
    timezone_name: str
    address: str
    location_phone: str
    number_id: str
    number: str
    fallback_number: str
    vapi_phone_number_id: str
    greeting: str
    after_hours_greeting: str
    after_hours_behaviour: str
    languages: tuple[str, ...]
    instructions: str
    transfer_number: str
    transfer_mode: str
    max_transfer_wait: int
    emergency_keywords: tuple[str, ...]
    recording_enabled: bool
    max_call_duration: int
    blocked: frozenset[str]
    message_notify_number: str
    agent: dict
    intents: tuple[IntentInfo, ...]
    hours: tuple[tuple[int, time, time], ...]
    closures: tuple[tuple[datetime, datetime], ...]
    services: tuple[tuple[str, int], ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def is_open(self, moment: datetime) -> bool:
        local = self.local(moment)
        if any(start <= moment < end for start, end in self.closures):
            return False
        return any(
            weekday == local.weekday() and opens <= local.time() < closes
            for weekday, opens, closes in self.hours
        )

    @property
    def emergency_number(self) -> str:
        return EMERGENCY_NUMBERS.get(self.country, "112")


def load_snapshot(number: PhoneNumber) -> Snapshot:
    """Build the snapshot from the database (a fixed handful of queries)."""
    organisation = current_organisation()
    location = number.location or organisation.default_location
    config = AssistantSettings.for_location(location)
    agent = config.voice_agent or VoiceAgent.default()
    agent_fields = (
        {
            "agent_name": agent.name,
            "voice_provider": agent.voice_provider,
            "voice_id": agent.voice_id,
            "voice_model": agent.voice_model,
            "model_provider": agent.model_provider,
            "model": agent.model,
            "transcriber_provider": agent.transcriber_provider,
            "transcriber_model": agent.transcriber_model,
            "base_prompt": agent.base_prompt,
        }
        if agent
        else dict(FALLBACK_AGENT)
    )
    if config.custom_voice and config.custom_voice.active:
        agent_fields.update(
            voice_provider=config.custom_voice.provider,
            voice_id=config.custom_voice.voice_id,
            voice_model=config.custom_voice.voice_model,
        )
    intents = Intent.objects.filter(active=True).filter(
        Q(location=location) | Q(location__isnull=True)
    )
    today = timezone.now().astimezone(location.zone).date()
    closures = Closure.objects.filter(
        Q(location=location) | Q(location__isnull=True), end_date__gte=today - timedelta(days=1)
    )
    services = (
        Service.objects.filter(active=True)
        .filter(Q(locations=location) | Q(locations__isnull=True))
        .distinct()
        .order_by("name")
    )
    return Snapshot(
        organisation_id=str(organisation.pk),
        organisation_name=organisation.name,
        country=organisation.country,
        default_language=organisation.default_language,
        location_id=str(location.pk),
        location_name=location.name,
        timezone_name=location.timezone,
        address=location.address,
        location_phone=location.phone,
        number_id=str(number.pk),
        number=number.number,
        fallback_number=number.fallback_number,
        vapi_phone_number_id=number.vapi_phone_number_id,
        greeting=config.greeting,
        after_hours_greeting=config.after_hours_greeting,
        after_hours_behaviour=config.after_hours_behaviour,
        languages=tuple(config.languages or [organisation.default_language]),
        instructions=config.instructions,
        transfer_number=config.transfer_number,
        transfer_mode=config.transfer_mode,
        max_transfer_wait=config.max_transfer_wait,
        emergency_keywords=tuple(config.keyword_list()),
        recording_enabled=config.recording_enabled,
        max_call_duration=config.max_call_duration,
        blocked=frozenset(_normalised(config.blocked_list(), organisation.country)),
        message_notify_number=config.message_notify_number,
        agent=agent_fields,
        intents=tuple(
            IntentInfo(i.name, tuple(i.phrase_list()), dict(i.answers), i.action) for i in intents
        ),
        hours=tuple(
            (h.weekday, h.start_time, h.end_time)
            for h in WorkingHours.objects.filter(location=location)
        ),
        closures=tuple(
            tuple(bound.astimezone(UTC) for bound in closure.local_bounds(location.zone))
            for closure in closures
        ),
        services=tuple((s.name, s.duration) for s in services),
    )


def _normalised(numbers, region) -> list[str]:
    found = []
    for raw in numbers:
        try:
            found.append(normalise_phone(raw, region))
        except ValidationError:  # a typo in the list must not break the phone line
            continue
    return found


# ---------------------------------------------------------------------------------------------
# Cache


def _version_keys() -> list[str]:
    return [tenant_cache_key("assistant-version"), CATALOGUE_VERSION_KEY]


def snapshot_for(number: PhoneNumber) -> Snapshot:
    """The number's snapshot, from the cache when its settings have not changed."""
    versions = cache.get_many(_version_keys())
    key = tenant_cache_key(
        "assistant",
        number.pk,
        versions.get(_version_keys()[0], 0),
        versions.get(CATALOGUE_VERSION_KEY, 0),
    )
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = load_snapshot(number)
        cache.set(key, snapshot, settings.TELEPHONY_ASSISTANT_CACHE_SECONDS)
    return snapshot


def forget(organisation_id) -> None:
    """Drop the organisation's cached assistants (its settings changed)."""
    # Only the id is needed for the key; an unsaved stand-in avoids a query (and works while
    # the organisation itself is being deleted).
    with tenant(Organisation(pk=organisation_id)):
        cache.set(tenant_cache_key("assistant-version"), uuid.uuid4().hex, None)


def forget_catalogue() -> None:
    """Drop every cached assistant (the platform's voice agent catalogue changed)."""
    cache.set(CATALOGUE_VERSION_KEY, uuid.uuid4().hex, None)


# ---------------------------------------------------------------------------------------------
# The assistant


@dataclass(frozen=True)
class AssistantConfig:
    """A provider-neutral assistant; telephony.providers.vapi renders it as Vapi JSON."""

    name: str
    first_message: str
    system_prompt: str
    goodbye: str
    model_provider: str
    model: str
    voice_provider: str
    voice_id: str
    voice_model: str
    transcriber_provider: str
    transcriber_model: str
    transcriber_language: str
    tools: list = field(default_factory=list)
    transfers_enabled: bool = True
    max_duration_seconds: int = 900
    recording_enabled: bool = True
    metadata: dict = field(default_factory=dict)


def local_datetime_text(moment: datetime, language: str = "en") -> str:
    with translation.override(language):
        return formats.date_format(moment, "l j F Y, H:i")


def _hours_text(snapshot: Snapshot) -> str:
    if not snapshot.hours:
        return "No opening hours are set."
    days = {}
    for weekday, opens, closes in snapshot.hours:
        days.setdefault(weekday, []).append(f"{opens:%H:%M}-{closes:%H:%M}")
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    return "; ".join(
        f"{names[day]} {', '.join(days[day])}" if day in days else f"{names[day]} closed"
        for day in range(7)
    )


AFTER_HOURS_RULES = {
    AssistantSettings.AfterHours.TAKE_MESSAGE: (
        "While the clinic is closed, do not book: take a message with take_message so the team "
        "calls back, unless it is an emergency."
    ),
    AssistantSettings.AfterHours.EMERGENCIES_ONLY: (
        "While the clinic is closed, only handle emergencies (flag_emergency, then transfer_call "
        "to the person on call); for anything else take a message with take_message."
    ),
    AssistantSettings.AfterHours.BOOK_ANYWAY: (
        "While the clinic is closed you may still check availability and book appointments."
    ),
}
INTENT_ACTIONS = {
    Intent.Action.ANSWER: "answer it",
    Intent.Action.BOOK: "offer to book an appointment",
    Intent.Action.TRANSFER: "transfer the call to a person (transfer_call)",
    Intent.Action.MESSAGE: "take a message (take_message)",
}


def system_prompt(snapshot: Snapshot, now: datetime, *, open_now: bool, caller: str) -> str:
    clinic = snapshot.organisation_name
    local = snapshot.local(now)
    languages = ", ".join(LANGUAGE_NAMES.get(code, code) for code in snapshot.languages)
    parts = [
        snapshot.agent["base_prompt"].replace("{clinic}", clinic),
        f"You answer the phone for {clinic}, {snapshot.location_name}"
        + (f" ({snapshot.address.strip()})" if snapshot.address.strip() else "")
        + ".",
        f"Right now it is {local_datetime_text(local)} local time ({snapshot.timezone_name}). "
        "Resolve words like today, tomorrow or next Tuesday against this date, and pass dates "
        "to the tools as YYYY-MM-DD (or as the caller said them); the server checks them.",
        f"The clinic is {'OPEN' if open_now else 'CLOSED'} right now. Opening hours: "
        f"{_hours_text(snapshot)}.",
    ]
    if not open_now:
        parts.append(AFTER_HOURS_RULES[snapshot.after_hours_behaviour])
    parts.append(
        f"Speak the caller's language; you can speak {languages}. Keep answers short and ask one "
        "question at a time."
    )
    if snapshot.services:
        offered = ", ".join(f"{name} ({minutes} min)" for name, minutes in snapshot.services)
        parts.append(f"Services that can be booked: {offered}.")
    parts.append(
        "Before offering times, call check_availability. Book with book_appointment only after "
        "the caller has confirmed the time and given their name. To move or cancel an existing "
        "appointment use reschedule_appointment or cancel_appointment. Use find_customer to see "
        "whether the caller is known and what they have booked."
    )
    keywords = ", ".join(snapshot.emergency_keywords)
    parts.append(
        "If the caller describes an emergency"
        + (f" (for example: {keywords})" if keywords else "")
        + ", call flag_emergency at once with a one-sentence description, then offer to transfer "
        f"them with transfer_call. If anyone is in danger, tell them to hang up and call "
        f"{snapshot.emergency_number} now."
    )
    parts.append(
        "If the caller asks for a person, use transfer_call, tell them you are putting them "
        "through, then use the transferCall tool. If nobody is available, take a message."
    )
    if snapshot.intents:
        lines = ["What callers often ask, and what to do:"]
        for intent in snapshot.intents:
            phrases = "; ".join(f'"{p}"' for p in intent.phrases[:5])
            answers = " / ".join(
                f"({code}) {text}" for code, text in intent.answers.items() if text.strip()
            )
            line = f"- {intent.name}: {INTENT_ACTIONS[intent.action]}"
            if phrases:
                line += f". Callers say things like {phrases}"
            if answers:
                line += f". Answer: {answers}"
            lines.append(line)
        parts.append("\n".join(lines))
    if snapshot.instructions.strip():
        parts.append(f"Clinic notes: {snapshot.instructions.strip()}")
    if caller:
        parts.append(f"The caller is known to the clinic as {caller}.")
    parts.append(
        "Never give medical advice or diagnoses, never take card numbers, and never invent "
        "times, prices or policies: use the tools and the notes above."
    )
    return "\n\n".join(parts)


def build(
    snapshot: Snapshot, now: datetime, *, call: Call, caller_name: str = ""
) -> AssistantConfig:
    """The assistant for one call, as of `now`."""
    open_now = snapshot.is_open(now)
    greeting = snapshot.greeting if open_now else snapshot.after_hours_greeting
    agent = snapshot.agent
    return AssistantConfig(
        name=f"{snapshot.organisation_name[:28]} reception",
        first_message=greeting.replace("{clinic}", snapshot.organisation_name),
        system_prompt=system_prompt(snapshot, now, open_now=open_now, caller=caller_name),
        goodbye="Thank you for calling. Goodbye!",
        model_provider=agent["model_provider"],
        model=agent["model"],
        voice_provider=agent["voice_provider"],
        voice_id=agent["voice_id"],
        voice_model=agent["voice_model"],
        transcriber_provider=agent["transcriber_provider"],
        transcriber_model=agent["transcriber_model"],
        transcriber_language="multi" if len(snapshot.languages) > 1 else snapshot.languages[0],
        tools=tools.specs(),
        transfers_enabled=True,
        max_duration_seconds=snapshot.max_call_duration,
        recording_enabled=snapshot.recording_enabled,
        metadata={
            "organisation_id": snapshot.organisation_id,
            "location_id": snapshot.location_id,
            "phone_number_id": snapshot.number_id,
            "call_id": str(call.pk) if call.pk else "",
        },
    )


# ---------------------------------------------------------------------------------------------
# Answering a call


@dataclass(frozen=True)
class CallDecision:
    """What to do with an inbound call: `assistant` (with `config`), `forward` (to
    `forward_to`) or `refuse` (say `spoken` and hang up)."""

    action: str
    call: Call
    snapshot: Snapshot
    config: AssistantConfig | None = None
    forward_to: str = ""
    spoken: str = ""


def caller_e164(raw: str, region: str) -> str:
    try:
        return normalise_phone(raw, region)
    except ValidationError:  # withheld or malformed caller id: an anonymous caller
        return ""


def open_call(
    number: PhoneNumber,
    *,
    provider: str,
    provider_call_id: str,
    caller: str,
    direction: str = Call.Direction.INBOUND,
    twilio_call_sid: str = "",
    when: datetime | None = None,
) -> Call:
    """The call row for a provider call id (created on first sight; never duplicated)."""
    organisation = current_organisation()
    phone = caller_e164(caller, organisation.country)
    call, created = Call.objects.get_or_create(
        provider=provider,
        provider_call_id=provider_call_id,
        defaults={
            "direction": direction,
            "from_number": caller[:64],
            "to_number": number.number,
            "customer_phone": phone,
            "phone_number": number,
            "location": number.location or organisation.default_location,
            "twilio_call_sid": twilio_call_sid,
            "status": Call.Status.RINGING,
            "created_at": when or timezone.now(),
        },
    )
    if created and phone:
        call.customer = Customer.for_phone(phone, when=call.created_at)
        Call.objects.filter(pk=call.pk).update(customer=call.customer)
    return call


def answer_call(
    number: PhoneNumber,
    *,
    provider: str,
    provider_call_id: str,
    caller: str,
    twilio_call_sid: str = "",
    now: datetime | None = None,
) -> CallDecision:
    """Decide, from local data only, how an inbound call to `number` is answered."""
    now = now or timezone.now()
    snapshot = snapshot_for(number)
    call = open_call(
        number,
        provider=provider,
        provider_call_id=provider_call_id,
        caller=caller,
        twilio_call_sid=twilio_call_sid,
        when=now,
    )
    if call.customer_phone and call.customer_phone in snapshot.blocked:
        _close(call, Call.Outcome.BLOCKED, "blocked-caller", now)
        return CallDecision("refuse", call, snapshot, spoken=BLOCKED)
    if entitlements.call_handling(current_organisation()) == entitlements.FORWARD:
        if snapshot.fallback_number:
            _close(call, Call.Outcome.FORWARDED, "forwarded-service-paused", now)
            return CallDecision("forward", call, snapshot, forward_to=snapshot.fallback_number)
        _close(call, Call.Outcome.MISSED, "service-paused-no-fallback", now)
        return CallDecision("refuse", call, snapshot, spoken=UNAVAILABLE)
    caller_name = call.customer.name if call.customer_id and call.customer else ""
    config = build(snapshot, now, call=call, caller_name=caller_name)
    return CallDecision("assistant", call, snapshot, config=config)


def _close(call: Call, outcome: str, reason: str, now: datetime) -> None:
    call.raise_outcome(outcome)
    call.advance_status(Call.Status.ENDED)
    call.ended_reason = reason
    call.set_times(now, now)
    call.save(
        update_fields=[
            "outcome",
            "status",
            "ended_reason",
            "started_at",
            "ended_at",
            "duration_seconds",
        ]
    )
