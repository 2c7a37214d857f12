"""Telephony: numbers, the assistant's configuration, calls and what happened on them, transfers,
emergencies and texts.

Everything here is a tenant row except the platform's `VoiceAgent` catalogue and the raw
`WebhookDelivery` store (their organisation is not known, or not relevant, when they are written).
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisations.encryption import EncryptedTextField
from organisations.models import LANGUAGES, Customer, Location
from organisations.phone import PhoneNumberField, normalise_phone
from organisations.tenancy import TenantModel

WEEKDAY_CHOICES = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


def all_weekdays() -> list[int]:
    return list(range(7))


def default_languages() -> list[str]:
    return ["en", "es"]


def default_reminder_hours() -> list[int]:
    return [24, 2]


def lines(text: str) -> list[str]:
    """The non-empty lines of a text field kept one item per line (phrases, keywords)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# Voices


class VoiceAgent(models.Model):
    """A platform catalogue entry: a voice and a language model with a base prompt that any
    organisation can choose for its assistant. Platform data (no organisation): edited by
    platform staff in the admin, read by every tenant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    languages = models.JSONField(_("languages"), default=default_languages)
    voice_provider = models.CharField(_("voice provider"), max_length=32, default="11labs")
    voice_id = models.CharField(_("voice id"), max_length=100)
    voice_model = models.CharField(_("voice model"), max_length=64, blank=True)
    model_provider = models.CharField(_("model provider"), max_length=32, default="openai")
    model = models.CharField(_("model"), max_length=64, default="gpt-4o")
    transcriber_provider = models.CharField(max_length=32, default="deepgram")
    transcriber_model = models.CharField(max_length=64, default="nova-3")
    base_prompt = models.TextField(_("base prompt"))
    is_default = models.BooleanField(_("default choice"), default=False)
    active = models.BooleanField(_("offered"), default=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="voice_agent_one_default"
            )
        ]

    def __str__(self):
        return self.name

    @classmethod
    def default(cls) -> "VoiceAgent | None":
        return cls.objects.filter(active=True).order_by("-is_default", "order").first()


class CustomVoice(TenantModel):
    """An organisation's own voice (a cloned or licensed voice at a TTS provider), used instead
    of the catalogue agent's voice (reference 003's per-tenant voices)."""

    name = models.CharField(_("name"), max_length=100)
    provider = models.CharField(_("voice provider"), max_length=32, default="11labs")
    voice_id = models.CharField(_("voice id"), max_length=100)
    voice_model = models.CharField(_("voice model"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="en")
    description = models.CharField(_("description"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="custom_voice_name_unique"
            )
        ]

    def __str__(self):
        return self.name


# ---------------------------------------------------------------------------------------------
# Organisation-wide telephony settings


class TelephonySettings(TenantModel):
    """One per organisation: its own Twilio (sub)account, which overrides the platform's for its
    numbers, and how it texts customers."""

    twilio_account_sid = models.CharField(
        _("Twilio account SID"),
        max_length=64,
        blank=True,
        help_text=_("The subaccount that owns your numbers. Empty: the platform's account."),
    )
    twilio_auth_token = EncryptedTextField(_("Twilio auth token"), blank=True)
    sms_confirmations = models.BooleanField(
        _("text booking confirmations"),
        default=True,
        help_text=_("When an appointment is booked, moved or cancelled."),
    )
    sms_reminders = models.BooleanField(_("text appointment reminders"), default=True)
    reminder_hours = models.JSONField(_("reminders (hours before)"), default=default_reminder_hours)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name_plural = _("telephony settings")
        constraints = [
            models.UniqueConstraint(fields=["organisation"], name="telephony_settings_one")
        ]

    def __str__(self):
        return f"Telephony settings of {self.organisation_id}"

    @classmethod
    def current(cls) -> "TelephonySettings":
        """The current organisation's settings (defaults until someone saves them)."""
        return cls.objects.first() or cls()

    def twilio_credentials(self) -> tuple[str, str]:
        if self.twilio_account_sid and self.twilio_auth_token:
            return self.twilio_account_sid, self.twilio_auth_token
        return settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN

    def reminder_offsets(self) -> list[timedelta]:
        """Reminder offsets, longest first."""
        return [
            timedelta(hours=h) for h in sorted({int(h) for h in self.reminder_hours}, reverse=True)
        ]


# ---------------------------------------------------------------------------------------------
# Numbers and the assistant's configuration


class PhoneNumber(TenantModel):
    """A number callers dial (reference 000's business_phone_numbers, 002's assignments).

    By design an active number belongs to exactly one organisation: the unique constraint on the
    number (and on its Vapi id) spans organisations, because an inbound call is routed by it.
    """

    class Provider(models.TextChoices):
        VAPI = "vapi", _("Vapi (imported or bought in Vapi)")
        TWILIO = "twilio", _("Twilio (stays on your Twilio account)")
        BYO_SIP = "byo_sip", _("Your own SIP trunk")

    number = PhoneNumberField(_("number"))
    label = models.CharField(
        _("label"), max_length=50, default="main", help_text=_("For example main or after-hours.")
    )
    is_primary = models.BooleanField(_("primary number"), default=False)
    active = models.BooleanField(_("active"), default=True)
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Calls to this number are answered for this location (default: the default)."),
    )
    provider = models.CharField(
        _("provider"), max_length=16, choices=Provider.choices, default=Provider.VAPI
    )
    vapi_phone_number_id = models.CharField(_("Vapi phone number id"), max_length=64, blank=True)
    twilio_sid = models.CharField(_("Twilio number SID"), max_length=64, blank=True)
    voice_enabled = models.BooleanField(_("voice"), default=True)
    sms_enabled = models.BooleanField(_("SMS"), default=True)
    fallback_number = PhoneNumberField(
        _("fallback number"),
        blank=True,
        help_text=_("Calls go here when the assistant cannot answer (outage, paused account)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-is_primary", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=Q(active=True),
                name="phone_number_active_unique",
                violation_error_message=_("This number is already connected to Frontdesk."),
            ),
            models.UniqueConstraint(
                fields=["vapi_phone_number_id"],
                condition=Q(active=True) & ~Q(vapi_phone_number_id=""),
                name="phone_number_vapi_id_unique",
                violation_error_message=_("This Vapi number is already connected."),
            ),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_primary=True),
                name="phone_number_one_primary",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "location"])]

    def __str__(self):
        return f"{self.number} ({self.label})"

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.is_primary:
                # all_organisations: the admin saves numbers with platform access.
                PhoneNumber.all_organisations.filter(
                    organisation_id=self.organisation_id, is_primary=True
                ).exclude(pk=self.pk).update(is_primary=False)
            super().save(*args, **kwargs)

    @classmethod
    def route(cls, *, number: str = "", vapi_id: str = "", pk=None) -> "PhoneNumber | None":
        """The active number a provider event is about, across organisations (webhooks only,
        inside platform_transaction), with its organisation and location loaded."""
        queryset = cls.all_organisations.select_related("organisation", "location").filter(
            active=True
        )
        if pk:
            return queryset.filter(pk=pk).first()
        if number:
            try:
                e164 = normalise_phone(number)
            except ValidationError:  # "client:alice", "anonymous": not one of ours
                e164 = ""
            if e164:
                found = queryset.filter(number=e164).first()
                if found is not None:
                    return found
        if vapi_id:
            return queryset.filter(vapi_phone_number_id=vapi_id).first()
        return None

    @classmethod
    def sender_for(cls, location: Location | None) -> "PhoneNumber | None":
        """The number texts from this location go out from: its own SMS number, else any."""
        numbers = cls.objects.filter(active=True, sms_enabled=True)
        if location is not None:
            own = numbers.filter(location=location).order_by("-is_primary").first()
            if own is not None:
                return own
        return numbers.order_by("-is_primary").first()


class AssistantSettings(TenantModel):
    """How the assistant answers at one location (reference 001/002's assistant_settings and
    the organisation's transfer settings)."""

    class AfterHours(models.TextChoices):
        TAKE_MESSAGE = "take_message", _("Take a message")
        EMERGENCIES_ONLY = "emergencies_only", _("Emergencies only (otherwise take a message)")
        BOOK_ANYWAY = "book_anyway", _("Book appointments anyway")

    class TransferMode(models.TextChoices):
        WARM = "warm", _("Warm: the assistant briefs the person first")
        COLD = "cold", _("Cold: put straight through")

    DEFAULT_KEYWORDS = "\n".join(
        [
            "bleeding",
            "can't breathe",
            "chest pain",
            "unconscious",
            "severe pain",
            "swelling",
            "knocked out tooth",
            "emergency",
            "urgencia",
            "sangrado",
        ]
    )

    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.CASCADE, related_name="+"
    )
    greeting = models.TextField(
        _("greeting"),
        default="Hello, thank you for calling {clinic}. How can I help you today?",
        help_text=_("{clinic} is replaced by the organisation's name."),
    )
    after_hours_greeting = models.TextField(
        _("after-hours greeting"),
        default="Hello, you've reached {clinic}. We're closed right now, but I can help.",
    )
    after_hours_behaviour = models.CharField(
        _("after hours"), max_length=20, choices=AfterHours.choices, default=AfterHours.TAKE_MESSAGE
    )
    languages = models.JSONField(_("languages"), default=default_languages)
    voice_agent = models.ForeignKey(
        VoiceAgent,
        verbose_name=_("voice agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the platform's default."),
    )
    custom_voice = models.ForeignKey(
        CustomVoice,
        verbose_name=_("custom voice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Your own voice, used instead of the voice agent's."),
    )
    instructions = models.TextField(
        _("extra instructions"),
        blank=True,
        help_text=_("Anything the assistant should know: parking, prices, policies."),
    )
    transfer_number = PhoneNumberField(
        _("transfer number"), blank=True, help_text=_("Where callers who ask for a person go.")
    )
    transfer_mode = models.CharField(
        _("transfer mode"), max_length=8, choices=TransferMode.choices, default=TransferMode.WARM
    )
    max_transfer_wait = models.PositiveSmallIntegerField(
        _("longest transfer wait (seconds)"), default=30
    )
    emergency_keywords = models.TextField(
        _("emergency keywords"), default=DEFAULT_KEYWORDS, blank=True, help_text=_("One a line.")
    )
    recording_enabled = models.BooleanField(_("record calls"), default=True)
    max_call_duration = models.PositiveIntegerField(_("longest call (seconds)"), default=900)
    blocked_numbers = models.TextField(
        _("blocked callers"), blank=True, help_text=_("One number a line; they are refused.")
    )
    message_notify_number = PhoneNumberField(
        _("text messages taken to"),
        blank=True,
        help_text=_("A mobile that gets a text whenever the assistant takes a message."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name_plural = _("assistant settings")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "location"], name="assistant_settings_one_per_location"
            )
        ]

    def __str__(self):
        return f"Assistant settings · {self.location_id}"

    @classmethod
    def for_location(cls, location: Location) -> "AssistantSettings":
        found = cls.objects.select_related("voice_agent", "custom_voice").filter(location=location)
        return found.first() or cls(location=location)

    def keyword_list(self) -> list[str]:
        return lines(self.emergency_keywords)

    def blocked_list(self) -> list[str]:
        return lines(self.blocked_numbers)


class Intent(TenantModel):
    """Something callers ask about, and what the assistant does (reference 001's intents with
    answers in several languages)."""

    class Action(models.TextChoices):
        ANSWER = "answer", _("Answer")
        BOOK = "book", _("Book an appointment")
        TRANSFER = "transfer", _("Transfer to a person")
        MESSAGE = "message", _("Take a message")

    name = models.CharField(_("name"), max_length=100)
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every location."),
    )
    phrases = models.TextField(_("example phrases"), blank=True, help_text=_("One a line."))
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    action = models.CharField(
        _("what to do"), max_length=16, choices=Action.choices, default=Action.ANSWER
    )
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="intent_name_unique")
        ]
        indexes = [models.Index(fields=["organisation", "active", "order"])]

    def __str__(self):
        return self.name

    def phrase_list(self) -> list[str]:
        return lines(self.phrases)


# ---------------------------------------------------------------------------------------------
# Calls


class Call(TenantModel):
    """One phone call: who, when, how it went and what the assistant did.

    Provider events update it idempotently and never backwards: a status only moves up its
    ranking, and once the end-of-call report is in, later live events are ignored.
    """

    class Provider(models.TextChoices):
        VAPI = "vapi", "Vapi"
        TWILIO = "twilio", "Twilio"

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        WEB = "web", _("Web")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RINGING = "ringing", _("Ringing")
        IN_PROGRESS = "in_progress", _("In progress")
        FORWARDING = "forwarding", _("Forwarding")
        ENDED = "ended", _("Ended")

    class Outcome(models.TextChoices):
        # Listed from least to most significant: a call keeps its most significant outcome.
        UNKNOWN = "", _("—")
        MISSED = "missed", _("Missed")
        ANSWERED = "answered", _("Answered")
        BLOCKED = "blocked", _("Blocked")
        FORWARDED = "forwarded", _("Forwarded")
        MESSAGE = "message", _("Message taken")
        CANCELLED = "cancelled", _("Cancelled")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        BOOKED = "booked", _("Booked")
        TRANSFERRED = "transferred", _("Transferred")
        EMERGENCY = "emergency", _("Emergency")

    STATUS_RANK = {status: rank for rank, status in enumerate(Status.values)}
    OUTCOME_RANK = {outcome: rank for rank, outcome in enumerate(Outcome.values)}

    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.VAPI)
    provider_call_id = models.CharField(_("provider call id"), max_length=64)
    twilio_call_sid = models.CharField(max_length=64, blank=True)
    direction = models.CharField(
        _("direction"), max_length=16, choices=Direction.choices, default=Direction.INBOUND
    )
    from_number = models.CharField(_("from"), max_length=64, blank=True)
    to_number = models.CharField(_("to"), max_length=64, blank=True)
    customer_phone = PhoneNumberField(_("customer phone"), blank=True)
    phone_number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default="", blank=True
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    ended_reason = models.CharField(_("ended reason"), max_length=128, blank=True)
    recording_url = models.URLField(_("recording"), max_length=2000, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    structured_data = models.JSONField(default=dict, blank=True)
    success_evaluation = models.CharField(max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    is_emergency = models.BooleanField(_("emergency"), default=False)
    urgency_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    tools_used = models.JSONField(default=list, blank=True)
    caller_message = models.TextField(_("message for the clinic"), blank=True)
    assistant_delays = models.PositiveSmallIntegerField(default=0)
    report_received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider", "provider_call_id"],
                name="call_provider_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["organisation", "customer_phone"]),
            models.Index(fields=["organisation", "twilio_call_sid"]),
            models.Index(fields=["organisation", "outcome", "-created_at"]),
        ]

    def __str__(self):
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"{self.from_number or '?'} → {self.to_number or '?'} ({when})"

    @property
    def is_final(self) -> bool:
        return self.report_received_at is not None

    def advance_status(self, status: str) -> bool:
        """Move the status forward (never back); returns whether it changed."""
        if self.STATUS_RANK[status] > self.STATUS_RANK[self.status]:
            self.status = status
            return True
        return False

    def raise_outcome(self, outcome: str) -> bool:
        if self.OUTCOME_RANK[outcome] > self.OUTCOME_RANK[self.outcome]:
            self.outcome = outcome
            return True
        return False

    def set_times(self, started_at: datetime | None, ended_at: datetime | None) -> None:
        self.started_at = self.started_at or started_at
        self.ended_at = ended_at or self.ended_at
        if self.started_at and self.ended_at and self.ended_at >= self.started_at:
            self.duration_seconds = round((self.ended_at - self.started_at).total_seconds())

    def record_tool(self, name: str, tool_call_id: str, *, result: str = "", error: str = ""):
        """Remember a tool the assistant used (one entry per tool call id)."""
        if any(entry.get("id") == tool_call_id for entry in self.tools_used):
            return
        self.tools_used = [
            *self.tools_used,
            {
                "name": name,
                "id": tool_call_id,
                "ok": not error,
                "result": (error or result)[:300],
                "at": timezone.now().isoformat(),
            },
        ]

    @classmethod
    def lock(cls, pk) -> "Call":
        """The call row locked for an update (events for one call may arrive concurrently)."""
        return cls.objects.select_for_update().get(pk=pk)


class TranscriptLine(TenantModel):
    """One utterance of a call (reference 000's call_transcripts, with `spoken_at`)."""

    class Role(models.TextChoices):
        ASSISTANT = "assistant", _("Assistant")
        CALLER = "caller", _("Caller")
        SYSTEM = "system", _("System")
        TOOL = "tool", _("Tool")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transcript")
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    spoken_at = models.DateTimeField(null=True, blank=True)
    seconds_from_start = models.FloatField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "call", "position"], name="transcript_line_unique"
            )
        ]

    def __str__(self):
        return f"{self.role}: {self.text[:60]}"


class CallAppointment(TenantModel):
    """An appointment a call booked, moved or cancelled. The link lives here, so calendars knows
    nothing of calls."""

    class Action(models.TextChoices):
        BOOKED = "booked", _("Booked")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        CANCELLED = "cancelled", _("Cancelled")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="appointment_links")
    appointment = models.ForeignKey(
        "calendars.Appointment", on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    tool_call_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "call", "appointment", "action"],
                name="call_appointment_unique",
            )
        ]
        indexes = [models.Index(fields=["organisation", "appointment"])]


# ---------------------------------------------------------------------------------------------
# Emergencies and transfers


class EmergencyContact(TenantModel):
    """A person on the on-call rota (reference 002's emergency_contacts). Available on the
    listed weekdays between the two times, in the location's time zone; an end time before the
    start time means the shift runs overnight into the next day."""

    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: on call for every location."),
    )
    name = models.CharField(_("name"), max_length=200)
    phone = PhoneNumberField(_("phone"))
    role = models.CharField(_("role"), max_length=100, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=1, help_text=_("1 is asked first.")
    )
    active = models.BooleanField(_("active"), default=True)
    available_days = models.JSONField(_("days"), default=all_weekdays)
    available_from = models.TimeField(
        _("from"), null=True, blank=True, help_text=_("Empty: all day.")
    )
    available_until = models.TimeField(_("until"), null=True, blank=True)
    escalation_minutes = models.PositiveSmallIntegerField(
        _("escalate after (minutes)"),
        default=5,
        help_text=_("The next person is alerted if this one has not acknowledged by then."),
    )
    sms_enabled = models.BooleanField(_("alert by text"), default=True)
    call_enabled = models.BooleanField(_("transfer calls to them"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["priority", "name"]
        indexes = [models.Index(fields=["organisation", "active", "priority"])]

    def __str__(self):
        return f"{self.name} ({self.role})" if self.role else self.name

    def is_available(self, local_moment: datetime) -> bool:
        """Whether the contact is on call at `local_moment` (aware, in the location's zone)."""
        start, end = self.available_from, self.available_until
        if start is None or end is None:
            return local_moment.weekday() in self.available_days
        now = local_moment.time()
        if start < end:
            return local_moment.weekday() in self.available_days and start <= now < end
        # Overnight: the shift belongs to the day it starts on.
        if now >= start:
            return local_moment.weekday() in self.available_days
        return now < end and (local_moment.weekday() - 1) % 7 in self.available_days


class CallTransfer(TenantModel):
    """A call handed to a person (reference 002's call_transfers)."""

    class Status(models.TextChoices):
        INITIATED = "initiated", _("Initiated")
        CONNECTING = "connecting", _("Connecting")
        CONNECTED = "connected", _("Connected")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        NO_ANSWER = "no_answer", _("No answer")

    class Urgency(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        EMERGENCY = "emergency", _("Emergency")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transfers")
    contact = models.ForeignKey(
        EmergencyContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    summary = models.TextField(_("summary"), blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    destination = PhoneNumberField(_("destination"))
    destination_label = models.CharField(max_length=200, blank=True)
    mode = models.CharField(
        max_length=8,
        choices=AssistantSettings.TransferMode.choices,
        default=AssistantSettings.TransferMode.WARM,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INITIATED)
    tool_call_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    connected_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    STATUS_RANK = {status: rank for rank, status in enumerate(Status.values)}

    class Meta(TenantModel.Meta):
        ordering = ["created_at"]
        indexes = [models.Index(fields=["organisation", "call", "created_at"])]

    def __str__(self):
        return f"→ {self.destination} ({self.status})"

    def advance(self, status: str) -> None:
        if self.STATUS_RANK[status] <= self.STATUS_RANK[self.status]:
            return
        self.status = status
        now = timezone.now()
        if status == self.Status.CONNECTED:
            self.connected_at = self.connected_at or now
        elif status in (self.Status.COMPLETED, self.Status.FAILED, self.Status.NO_ANSWER):
            self.completed_at = self.completed_at or now
        self.save(update_fields=["status", "connected_at", "completed_at"])


# ---------------------------------------------------------------------------------------------
# SMS


class SmsMessage(TenantModel):
    """A text to or from a customer or a member of staff (reference 002's sms_communications)."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("Sent")
        INBOUND = "inbound", _("Received")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        UNDELIVERED = "undelivered", _("Undelivered")
        FAILED = "failed", _("Failed")
        RECEIVED = "received", _("Received")

    # Twilio callbacks may arrive out of order: a status never goes back down this ranking.
    STATUS_RANK = {
        Status.QUEUED: 0,
        Status.SENT: 1,
        Status.UNDELIVERED: 2,
        Status.FAILED: 2,
        Status.DELIVERED: 3,
        Status.RECEIVED: 3,
    }
    OPTED_OUT = "opted_out"

    direction = models.CharField(max_length=16, choices=Direction.choices)
    to_number = PhoneNumberField(_("to"))
    from_number = models.CharField(_("from"), max_length=32, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    twilio_sid = models.CharField(max_length=64, blank=True)
    template_key = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    appointment = models.ForeignKey(
        "calendars.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For reminders: the appointment start they were about, so a moved appointment is reminded
    # again and the same reminder is never sent twice.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        verbose_name = _("SMS message")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "twilio_sid"],
                condition=~Q(twilio_sid=""),
                name="sms_twilio_sid_unique",
            ),
            models.UniqueConstraint(
                fields=["organisation", "appointment", "template_key", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="sms_reminder_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["organisation", "customer", "-created_at"]),
            models.Index(fields=["organisation", "appointment"]),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.to_number}: {self.body[:40]}"

    def record_status(self, status: str, *, error_code: str = "", when=None) -> bool:
        """Apply a provider status callback; never moves back. Returns whether it changed."""
        if status not in self.STATUS_RANK or self.STATUS_RANK[status] < self.STATUS_RANK.get(
            self.status, 0
        ):
            return False
        if status == self.status and not error_code:
            return False
        self.status = status
        self.error_code = error_code or self.error_code
        if status == self.Status.DELIVERED:
            self.delivered_at = when or timezone.now()
        if status == self.Status.SENT:
            self.sent_at = self.sent_at or when or timezone.now()
        self.save(update_fields=["status", "error_code", "delivered_at", "sent_at"])
        return True


class EmergencyNotification(TenantModel):
    """An alert to an on-call contact about an emergency (reference 002's
    emergency_notifications). All alerts about one emergency share an `incident`; escalation
    moves down the rota until one of them is acknowledged."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")

    OPEN = (Status.PENDING, Status.SENT, Status.DELIVERED, Status.FAILED)

    incident = models.UUIDField(default=uuid.uuid4)
    contact = models.ForeignKey(
        EmergencyContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="emergencies"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sms = models.ForeignKey(
        SmsMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    urgency = models.CharField(
        max_length=16, choices=CallTransfer.Urgency.choices, default=CallTransfer.Urgency.EMERGENCY
    )
    message = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "incident"]),
            models.Index(fields=["organisation", "status", "escalate_at"]),
            models.Index(fields=["organisation", "-created_at"]),
        ]

    def __str__(self):
        return f"Emergency alert to {self.contact} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @classmethod
    def follow_sms(cls, message: SmsMessage) -> None:
        """Mirror the delivery of the text that carried an alert. A text that failed makes its
        alert escalate at once instead of after the contact's timeout."""
        alerts = cls.objects.filter(sms=message, status__in=cls.OPEN)
        now = timezone.now()
        if message.status == SmsMessage.Status.SENT:
            alerts.filter(status=cls.Status.PENDING).update(status=cls.Status.SENT, sent_at=now)
        elif message.status == SmsMessage.Status.DELIVERED:
            alerts.update(status=cls.Status.DELIVERED, delivered_at=now)
        elif message.status in (SmsMessage.Status.FAILED, SmsMessage.Status.UNDELIVERED):
            alerts.update(status=cls.Status.FAILED, escalate_at=now)

    def incident_acknowledged(self) -> bool:
        return EmergencyNotification.objects.filter(
            incident=self.incident, status=self.Status.ACKNOWLEDGED
        ).exists()


# ---------------------------------------------------------------------------------------------
# Raw provider deliveries (platform data)


class WebhookDelivery(models.Model):
    """A Vapi or Twilio webhook, stored raw before it is processed so that nothing is lost and
    any delivery can be replayed from the admin. Platform data: written before the organisation
    is known (and for numbers that belong to nobody)."""

    class Provider(models.TextChoices):
        VAPI = "vapi", "Vapi"
        TWILIO = "twilio", "Twilio"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    kind = models.CharField(max_length=64)
    event_id = models.CharField(max_length=255)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    headers = models.JSONField(default=dict)
    body = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="telephony_webhook_event_unique"
            )
        ]
        indexes = [models.Index(fields=["-received_at"])]

    def __str__(self):
        return f"{self.provider} {self.kind} {self.event_id}"

    def mark(self, *, error: str = "") -> None:
        """Record the outcome of one processing attempt."""
        self.attempts += 1
        self.error = error[:5000]
        self.processed_at = None if error else timezone.now()
        WebhookDelivery.objects.filter(pk=self.pk).update(
            attempts=F("attempts") + 1, error=self.error, processed_at=self.processed_at
        )
