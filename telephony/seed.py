"""Demo telephony for each demo clinic: numbers, the assistant's settings and intents, an on-call
rota and three weeks of realistic calls. Called by `manage.py seed_demo` inside the clinic's
tenant transaction; running it again changes nothing."""
# ruff: noqa: RUF001 - the Russian demo answers are meant to contain Cyrillic letters.

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from calendars.models import Appointment, Service, WorkingHours
from organisations.models import Customer, Location
from telephony.models import (
    AssistantSettings,
    Call,
    CallAppointment,
    CallTransfer,
    EmergencyContact,
    EmergencyNotification,
    Intent,
    PhoneNumber,
    TelephonySettings,
    TranscriptLine,
    VoiceAgent,
)

CATALOGUE = [
    {
        "name": "Sarah (warm, English)",
        "description": "Calm and friendly; English with Spanish when callers switch.",
        "languages": ["en", "es"],
        "voice_provider": "vapi",
        "voice_id": "Savannah",
        "base_prompt": "You are Sarah, the warm and efficient receptionist of {clinic}.",
        "is_default": True,
        "order": 10,
    },
    {
        "name": "Lucía (bilingual Spanish/English)",
        "description": "Native Spanish speaker, fluent English.",
        "languages": ["es", "en"],
        "voice_provider": "azure",
        "voice_id": "es-ES-ElviraNeural",
        "base_prompt": "You are Lucía, the bilingual receptionist of {clinic}.",
        "order": 20,
    },
    {
        "name": "Anna (Russian/English)",
        "description": "For clinics with Russian-speaking patients.",
        "languages": ["ru", "en"],
        "voice_provider": "azure",
        "voice_id": "ru-RU-SvetlanaNeural",
        "base_prompt": "You are Anna, the receptionist of {clinic}.",
        "order": 30,
    },
]

# Demo numbers from ranges reserved for fiction (Ofcom 020 7946 0xxx, NANP 555-01xx).
NUMBERS = {
    "bright-smile-dental": {
        "Camden": [("+442079460500", "main"), ("+442079460501", "after-hours")],
        "Islington": [("+442079460600", "main")],
    },
    "pacific-physio": {"Santa Monica": [("+13105550100", "main")]},
}

INTENTS = [
    {
        "name": "Opening hours",
        "phrases": "When are you open?\nWhat time do you close today?\n¿A qué hora abren?",
        "action": Intent.Action.ANSWER,
        "answers": {
            "en": "We're open Monday to Friday 9 to 5, and Saturday mornings 9 to 1.",
            "es": "Abrimos de lunes a viernes de 9 a 5 y los sábados de 9 a 1.",
            "ru": "Мы работаем с понедельника по пятницу с 9 до 17, в субботу с 9 до 13.",
        },
    },
    {
        "name": "Parking and access",
        "phrases": "Where can I park?\nIs there step-free access?",
        "action": Intent.Action.ANSWER,
        "answers": {
            "en": "There is pay-and-display parking on the street and step-free access at the "
            "front door.",
            "es": "Hay aparcamiento de pago en la calle y acceso sin escalones por la entrada.",
        },
    },
    {
        "name": "Prices and insurance",
        "phrases": "How much is a check-up?\nDo you take my insurance?",
        "action": Intent.Action.ANSWER,
        "answers": {
            "en": "A check-up is from 60; we accept most major insurers. The team can confirm "
            "your cover.",
            "es": "Una revisión cuesta desde 60; aceptamos la mayoría de aseguradoras.",
        },
    },
    {
        "name": "Book an appointment",
        "phrases": "I'd like to book\nCan I see someone this week?\nQuiero pedir cita",
        "action": Intent.Action.BOOK,
        "answers": {},
    },
    {
        "name": "Speak to a person",
        "phrases": "Can I talk to someone?\nPut me through to reception",
        "action": Intent.Action.TRANSFER,
        "answers": {},
    },
    {
        "name": "Results and referrals",
        "phrases": "Are my results back?\nI need a referral letter",
        "action": Intent.Action.MESSAGE,
        "answers": {"en": "I'll take a message and the team will call you back today."},
    },
]

ROTA = [
    # name, role, priority, days, from, until, phone suffix
    ("Dr Priya Shah", "Clinical lead", 1, [0, 1, 2, 3, 4], time(8), time(18), "11"),
    ("Tom Reeves", "On-call clinician", 2, list(range(7)), time(18), time(8), "12"),
    ("Maria Lopez", "Practice manager", 3, list(range(7)), None, None, "13"),
]


@dataclass(frozen=True)
class Scenario:
    outcome: str
    weight: int
    tools: tuple[str, ...]
    summary: str
    lines: tuple[tuple[str, str], ...]
    language: str = "en"


SCENARIOS = [
    Scenario(
        Call.Outcome.BOOKED,
        30,
        ("check_availability", "book_appointment"),
        "{name} booked a {service} for {when}.",
        (
            ("assistant", "Hello, thank you for calling {clinic}. How can I help you today?"),
            ("caller", "Hi, I'd like to book a {service} please, sometime this week."),
            ("assistant", "Of course. {when} is free, would that suit you?"),
            ("caller", "Yes, that's perfect."),
            ("assistant", "Lovely. Can I take your full name?"),
            ("caller", "It's {name}."),
            ("assistant", "Thank you {first}, you're booked for {when}. You'll get a text."),
        ),
    ),
    Scenario(
        Call.Outcome.ANSWERED,
        25,
        (),
        "The caller asked about opening hours and parking.",
        (
            ("assistant", "Hello, thank you for calling {clinic}. How can I help you today?"),
            ("caller", "Hi, what time are you open until today?"),
            ("assistant", "We're open until 5 today. Is there anything else?"),
            ("caller", "Is there parking nearby?"),
            ("assistant", "Yes, there's pay-and-display parking on the street outside."),
            ("caller", "Great, thanks. Bye."),
        ),
    ),
    Scenario(
        Call.Outcome.MESSAGE,
        15,
        ("find_customer", "take_message"),
        "{name} left a message asking for a call back about their results.",
        (
            ("assistant", "Hello, thank you for calling {clinic}. How can I help you today?"),
            ("caller", "Hi, it's {name}. I wanted to check whether my results are back."),
            ("assistant", "I can't see results, but I'll take a message for the team."),
            ("caller", "Please, they can call me on this number."),
            ("assistant", "Done. Someone will call you back today."),
        ),
    ),
    Scenario(
        Call.Outcome.TRANSFERRED,
        10,
        ("transfer_call",),
        "The caller asked to speak to reception about an invoice and was put through.",
        (
            ("assistant", "Hello, thank you for calling {clinic}. How can I help you today?"),
            ("caller", "Can I speak to someone about my invoice?"),
            ("assistant", "Of course, I'll put you through to reception now."),
        ),
    ),
    Scenario(
        Call.Outcome.BOOKED,
        8,
        ("check_availability", "book_appointment"),
        "{name} (Spanish speaker) booked a {service} for {when}.",
        (
            ("assistant", "Hola, gracias por llamar a {clinic}. ¿En qué puedo ayudarle?"),
            ("caller", "Hola, quería pedir cita para una revisión."),
            ("assistant", "Claro. ¿Le va bien {when}?"),
            ("caller", "Sí, perfecto. Me llamo {name}."),
            ("assistant", "Gracias, {first}. Queda reservada. Recibirá un mensaje."),
        ),
        language="es",
    ),
    Scenario(
        Call.Outcome.EMERGENCY,
        3,
        ("flag_emergency", "transfer_call"),
        "{name} reported heavy bleeding after an extraction; the on-call clinician was alerted "
        "and the call transferred.",
        (
            ("assistant", "Hello, thank you for calling {clinic}. How can I help you today?"),
            ("caller", "I had a tooth out yesterday and it won't stop bleeding."),
            ("assistant", "I'm sorry. I'm alerting the clinician on call right now."),
            ("assistant", "If you feel faint or the bleeding is heavy, hang up and call {sos}."),
            ("caller", "Okay, thank you."),
            ("assistant", "I'm putting you through now."),
        ),
    ),
    Scenario(Call.Outcome.MISSED, 6, (), "", ()),
]
MISSED_REASON = "customer-ended-call"
NEW_CALLERS = ["Alex Morgan", "Sam Taylor", "Priya Kapoor", "Diego Álvarez", "Chloe Martin"]


def seed_organisation(organisation) -> None:
    _catalogue()
    TelephonySettings.objects.get_or_create(organisation=organisation)
    rng = random.Random(organisation.slug)
    for location in Location.objects.all():
        _location(organisation, location)
    _rota(organisation)
    for spec in INTENTS:
        Intent.objects.get_or_create(
            name=spec["name"],
            defaults={
                "phrases": spec["phrases"],
                "action": spec["action"],
                "answers": spec["answers"],
                "order": INTENTS.index(spec) * 10,
            },
        )
    if not Call.objects.filter(provider_call_id__startswith="demo-").exists():
        _calls(organisation, rng)


def _catalogue() -> None:
    for spec in CATALOGUE:
        VoiceAgent.objects.get_or_create(name=spec["name"], defaults=spec)


def _location(organisation, location: Location) -> None:
    for number, label in NUMBERS.get(organisation.slug, {}).get(location.name, []):
        PhoneNumber.objects.get_or_create(
            number=number,
            defaults={
                "label": label,
                "location": location,
                "is_primary": location.is_default and label == "main",
                "vapi_phone_number_id": f"demo-{number[1:]}",
                "fallback_number": location.phone,
            },
        )
    islington = location.name == "Islington"
    AssistantSettings.objects.get_or_create(
        location=location,
        defaults={
            "languages": ["en", "es", "ru"] if islington else ["en", "es"],
            # Most demo sites book around the clock (so simulate_call books at any hour);
            # Islington shows the message-taking behaviour instead.
            "after_hours_behaviour": AssistantSettings.AfterHours.TAKE_MESSAGE
            if islington
            else AssistantSettings.AfterHours.BOOK_ANYWAY,
            "transfer_number": location.phone,
            "message_notify_number": location.phone,
            "instructions": "New patients should arrive ten minutes early to fill in a form.",
        },
    )
    # Calendars owns services and hours; until its own demo data exists the assistant still
    # needs something to book, so a clinic with none gets a check-up and weekday hours.
    if not Service.objects.exists():
        Service.objects.create(name="Check-up", duration=30, min_notice=60)
        Service.objects.create(name="Hygienist visit", duration=45, min_notice=60)
    if not WorkingHours.objects.filter(location=location).exists():
        for weekday in range(5):
            WorkingHours.objects.create(
                location=location, weekday=weekday, start_time=time(9), end_time=time(17)
            )
        WorkingHours.objects.create(
            location=location, weekday=5, start_time=time(9), end_time=time(13)
        )


def _rota(organisation) -> None:
    prefix = "+4420794603" if organisation.country == "GB" else "+131055501"
    for name, role, priority, days, start, end, suffix in ROTA:
        EmergencyContact.objects.get_or_create(
            name=name,
            defaults={
                "role": role,
                "priority": priority,
                "phone": prefix + suffix,
                "available_days": days,
                "available_from": start,
                "available_until": end,
            },
        )


def _calls(organisation, rng: random.Random) -> None:
    locations = list(Location.objects.all())
    numbers = {n.location_id: n for n in PhoneNumber.objects.filter(label="main")}
    customers = list(Customer.objects.all())
    services = list(Service.objects.filter(active=True))
    contacts = list(EmergencyContact.objects.order_by("priority"))
    today = timezone.now()
    index = 0
    for days_ago in range(21, 0, -1):
        for _ in range(rng.randint(3, 6)):
            location = rng.choice(locations)
            if location.pk not in numbers:
                continue
            local_day = (today - timedelta(days=days_ago)).astimezone(location.zone).date()
            moment = datetime.combine(
                local_day,
                time(rng.randint(8, 18), rng.choice([0, 10, 20, 30, 40, 50])),
                location.zone,
            )
            scenario = rng.choices(SCENARIOS, weights=[s.weight for s in SCENARIOS])[0]
            customer = rng.choice(customers) if customers and rng.random() < 0.8 else None
            index += 1
            _call(
                organisation,
                rng,
                index=index,
                location=location,
                number=numbers[location.pk],
                moment=moment,
                scenario=scenario,
                customer=customer,
                service=rng.choice(services) if services else None,
                contact=contacts[0] if contacts else None,
            )


def _call(
    organisation, rng, *, index, location, number, moment, scenario, customer, service, contact
):
    if customer is None:
        # A first-time caller, from the same fictional range as the clinic's numbers (none of
        # the demo customers' or staff numbers); like a real call, it creates their record.
        customer = Customer.for_phone(
            f"{number.number[:-2]}{rng.randint(80, 99)}", name=rng.choice(NEW_CALLERS), when=moment
        )
    caller = customer.phone
    name = customer.name or rng.choice(NEW_CALLERS)
    booked_for = datetime.combine(
        moment.date() + timedelta(days=rng.randint(1, 6)), time(rng.randint(9, 15)), location.zone
    )
    words = {
        "clinic": organisation.name,
        "name": name,
        "first": name.split()[0],
        "service": (service.name if service else "check-up").lower(),
        "when": f"{booked_for:%A} at {booked_for:%H:%M}",
        "sos": "999" if organisation.country == "GB" else "911",
    }
    seconds = 0
    lines = []
    for position, (role, text) in enumerate(scenario.lines):
        seconds += rng.randint(3, 9)
        lines.append((position, role, text.format(**words), seconds))
    duration = seconds + rng.randint(2, 8) if lines else rng.randint(1, 4)
    call = Call.objects.create(
        provider_call_id=f"demo-{organisation.slug}-{index:04d}",
        from_number=caller,
        to_number=number.number,
        customer_phone=caller,
        phone_number=number,
        location=location,
        customer=customer,
        status=Call.Status.ENDED,
        outcome=scenario.outcome,
        started_at=moment,
        ended_at=moment + timedelta(seconds=duration),
        duration_seconds=duration,
        cost=Decimal(duration) * Decimal("0.0015"),
        ended_reason=MISSED_REASON if not lines else "customer-ended-call",
        summary=scenario.summary.format(**words),
        language=scenario.language,
        is_emergency=scenario.outcome == Call.Outcome.EMERGENCY,
        urgency_score=Decimal("0.85") if scenario.outcome == Call.Outcome.EMERGENCY else None,
        tools_used=[
            {
                "name": tool,
                "id": f"demo-{index}-{n}",
                "ok": True,
                "result": "",
                "at": moment.isoformat(),
            }
            for n, tool in enumerate(scenario.tools)
        ],
        caller_message=f"{name}: please call back about results."
        if scenario.outcome == Call.Outcome.MESSAGE
        else "",
        report_received_at=moment + timedelta(seconds=duration + 10),
        created_at=moment,
    )
    TranscriptLine.objects.bulk_create(
        TranscriptLine(
            call=call,
            organisation=organisation,
            position=position,
            role=role,
            text=text,
            spoken_at=moment + timedelta(seconds=offset),
            seconds_from_start=offset,
        )
        for position, role, text, offset in lines
    )
    if scenario.outcome == Call.Outcome.BOOKED and service is not None:
        _appointment(call, location, service, customer, name, caller, booked_for, scenario.language)
    if "transfer_call" in scenario.tools:
        CallTransfer.objects.create(
            call=call,
            contact=contact if call.is_emergency else None,
            reason="Emergency" if call.is_emergency else "Invoice question",
            urgency=CallTransfer.Urgency.EMERGENCY if call.is_emergency else "normal",
            destination=contact.phone
            if call.is_emergency and contact
            else location.phone or number.number,
            destination_label=str(contact) if call.is_emergency and contact else "front desk",
            status=CallTransfer.Status.COMPLETED,
            created_at=moment + timedelta(seconds=duration - 5),
            completed_at=moment + timedelta(seconds=duration),
        )
    if call.is_emergency and contact is not None:
        EmergencyNotification.objects.create(
            contact=contact,
            call=call,
            location=location,
            message=call.summary,
            status=EmergencyNotification.Status.ACKNOWLEDGED,
            sent_at=moment + timedelta(seconds=20),
            acknowledged_at=moment + timedelta(minutes=2),
            created_at=moment + timedelta(seconds=20),
        )


def _appointment(call, location, service, customer, name, phone, start, language):
    """The appointment a demo call booked (a slot already taken by other demo data is skipped)."""
    appointment = Appointment(
        location=location,
        service=service,
        customer=customer,
        name=name,
        phone=phone,
        source=Appointment.Source.PHONE,
        language=language,
        status=Appointment.Status.COMPLETED
        if start < timezone.now()
        else Appointment.Status.CONFIRMED,
    )
    appointment.place(start)
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError:
        return
    CallAppointment.objects.create(
        call=call, appointment=appointment, action=CallAppointment.Action.BOOKED
    )
