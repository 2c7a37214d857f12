"""Calendars: what a clinic offers, when it is open, what is booked, and the external calendars
that mirror it.

Times are stored in UTC (USE_TZ); opening hours and closures are wall-clock times of the location
and are turned into UTC intervals by the availability engine for each date, so they stay right
across daylight-saving changes.
"""

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisations.encryption import EncryptedTextField
from organisations.models import LANGUAGES, Customer, Location
from organisations.phone import PhoneNumberField
from organisations.tenancy import TenantModel

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class Service(TenantModel):
    """Something a customer books (reference 004's services, reference 002's appointment types).

    Durations, buffers and notice are whole minutes (integers), which is what the assistant and
    the forms speak in. A service with no locations ticked is offered at every location.
    """

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    duration = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    buffer_before = models.PositiveSmallIntegerField(
        _("buffer before (minutes)"),
        default=0,
        help_text=_("Kept free before each appointment, e.g. to prepare the room."),
    )
    buffer_after = models.PositiveSmallIntegerField(
        _("buffer after (minutes)"),
        default=0,
        help_text=_("Kept free after each appointment, e.g. for cleaning."),
    )
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, null=True, blank=True)
    min_notice = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=60,
        help_text=_("How long before its start an appointment can still be booked."),
    )
    booking_horizon = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        default=60,
        help_text=_("How far ahead appointments can be booked."),
    )
    slot_interval = models.PositiveSmallIntegerField(
        _("slot interval (minutes)"),
        default=15,
        help_text=_("Free times are offered every this many minutes from opening time."),
    )
    active = models.BooleanField(_("active"), default=True)
    locations = models.ManyToManyField(
        Location,
        through="ServiceLocation",
        blank=True,
        related_name="+",
        verbose_name=_("locations"),
        help_text=_("Leave all unticked to offer it at every location."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                name="service_name_unique",
                violation_error_message=_("There is already a service with this name."),
            ),
            models.CheckConstraint(
                condition=Q(duration__gt=0),
                name="service_duration_positive",
                violation_error_message=_("The duration must be at least one minute."),
            ),
            models.CheckConstraint(
                condition=Q(slot_interval__gt=0),
                name="service_slot_interval_positive",
                violation_error_message=_("The slot interval must be at least one minute."),
            ),
        ]
        indexes = [models.Index(fields=["organisation", "active"])]

    def __str__(self):
        return self.name

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.duration)

    @property
    def before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before)

    @property
    def after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after)

    def is_offered_at(self, location: Location) -> bool:
        offered = set(
            ServiceLocation.objects.filter(service=self).values_list("location_id", flat=True)
        )
        return not offered or location.pk in offered

    def set_locations(self, locations) -> None:
        # The through rows are tenant rows: they need the organisation, which set() cannot infer.
        self.locations.set(locations, through_defaults={"organisation": self.organisation})


class ServiceLocation(TenantModel):
    """A location that offers a service."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "service", "location"], name="service_location_unique"
            )
        ]


class WorkingHours(TenantModel):
    """One open interval of a location on a weekday, in the location's wall-clock time. Several
    rows on the same weekday make a day with breaks (9:00-12:30 and 13:30-17:00)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    start_time = models.TimeField(_("opens"))
    end_time = models.TimeField(_("closes"))

    class Meta(TenantModel.Meta):
        ordering = ["weekday", "start_time"]
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lt=models.F("end_time")),
                name="working_hours_start_before_end",
                violation_error_message=_("Closing time must be after opening time."),
            )
        ]
        indexes = [models.Index(fields=["organisation", "location", "weekday"])]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Closure(TenantModel):
    """A time the location is closed: a holiday, a training afternoon, a week off.

    Closed from `start_date` at `start_time` (midnight when empty) until `end_date` at `end_time`
    (the end of the day when empty), in the location's wall-clock time. Without a location it
    closes every location of the organisation.
    """

    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("location"),
        help_text=_("Leave empty to close every location."),
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until (inclusive)"))
    start_time = models.TimeField(
        _("from time"), null=True, blank=True, help_text=_("Empty: from the start of the day.")
    )
    end_time = models.TimeField(
        _("until time"), null=True, blank=True, help_text=_("Empty: to the end of the day.")
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["start_date", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=models.F("end_date")),
                name="closure_start_before_end",
                violation_error_message=_("The last day cannot be before the first."),
            )
        ]
        indexes = [models.Index(fields=["organisation", "end_date"])]

    def __str__(self):
        return self.reason or f"{self.start_date} to {self.end_date}"

    @property
    def is_whole_days(self) -> bool:
        return self.start_time is None and self.end_time is None

    def local_bounds(self, zone) -> tuple[datetime, datetime]:
        """The closed interval as aware datetimes in `zone`."""
        start = datetime.combine(self.start_date, self.start_time or time.min, tzinfo=zone)
        if self.end_time is None:
            end = datetime.combine(self.end_date + timedelta(days=1), time.min, tzinfo=zone)
        else:
            end = datetime.combine(self.end_date, self.end_time, tzinfo=zone)
        return start, end


class Appointment(TenantModel):
    """A booked time at a location for a service.

    `blocked_start`/`blocked_end` extend the appointment by the service's buffers as they were
    when it was booked; two appointments of a location that hold time may not have overlapping
    blocked intervals (checked by the booking functions, enforced on PostgreSQL by an exclusion
    constraint, see migration 0002).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No-show")

    class Source(models.TextChoices):
        PHONE = "phone", _("Phone assistant")
        DASHBOARD = "dashboard", _("Dashboard")
        API = "api", _("API")
        GOOGLE = "google", _("Google Calendar")
        CALCOM = "calcom", _("Cal.com")

    class Urgency(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    # Every status but cancelled keeps its time taken (the exclusion constraint uses the same).
    HOLDS_TIME = (Status.PENDING, Status.CONFIRMED, Status.COMPLETED, Status.NO_SHOW)
    OPEN = (Status.PENDING, Status.CONFIRMED)

    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("service")
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )
    # As the caller gave them, kept even if the customer record changes later.
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    email = models.EmailField(_("email"), blank=True)

    start_at = models.DateTimeField(_("starts"))
    end_at = models.DateTimeField(_("ends"))
    blocked_start = models.DateTimeField(editable=False)
    blocked_end = models.DateTimeField(editable=False)

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.CONFIRMED
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=300, blank=True)

    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.DASHBOARD
    )
    notes = models.TextField(_("notes"), blank=True)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="en")
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL
    )
    is_emergency = models.BooleanField(_("emergency"), default=False)
    sms_confirmation_sent = models.BooleanField(default=False)
    sms_reminder_sent = models.BooleanField(default=False)

    google_event_id = models.CharField(max_length=1024, blank=True)
    calcom_booking_uid = models.CharField(max_length=100, blank=True)

    idempotency_key = models.CharField(max_length=200, blank=True)
    reschedule_key = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        ordering = ["start_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_at__lt=models.F("end_at")), name="appointment_start_before_end"
            ),
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="appointment_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["organisation", "calcom_booking_uid"],
                condition=~Q(calcom_booking_uid=""),
                name="appointment_calcom_uid_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "location", "blocked_start"]),
            models.Index(fields=["organisation", "start_at"]),
            models.Index(fields=["organisation", "status", "start_at"]),
            models.Index(fields=["organisation", "customer"]),
        ]

    def __str__(self):
        return f"{self.service} · {self.display_name} · {self.start_at:%Y-%m-%d %H:%M} UTC"

    @property
    def display_name(self) -> str:
        return self.name or (self.customer.name if self.customer else "") or self.phone

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def local_start(self) -> datetime:
        return self.start_at.astimezone(self.location.zone)

    def place(
        self, start: datetime, service: Service | None = None, end: datetime | None = None
    ) -> None:
        """Set the times for `start` (aware) from the service's duration and buffers; `end`
        overrides the duration (a booking made elsewhere keeps its own length)."""
        service = service or self.service
        self.service = service
        self.start_at = start.astimezone(UTC)
        self.end_at = end.astimezone(UTC) if end else self.start_at + service.length
        self.blocked_start = self.start_at - service.before
        self.blocked_end = self.end_at + service.after


class CalendarConnection(TenantModel):
    """A location's link to an external calendar. Tokens are encrypted and never shown."""

    class Provider(models.TextChoices):
        GOOGLE = "google", _("Google Calendar")
        CALCOM = "calcom", _("Cal.com")
        # Planned; no provider module yet.
        OUTLOOK = "outlook", _("Outlook")
        CALENDLY = "calendly", _("Calendly")

    class AuthMethod(models.TextChoices):
        OAUTH = "oauth", _("OAuth")
        API_KEY = "api_key", _("API key")

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NEEDS_REAUTH = "needs_reauth", _("Needs reconnecting")
        ERROR = "error", _("Error")

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", verbose_name=_("location")
    )
    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    auth_method = models.CharField(
        max_length=8, choices=AuthMethod.choices, default=AuthMethod.OAUTH
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    account = models.CharField(
        _("account"), max_length=254, blank=True, help_text=_("Who connected it, for display.")
    )
    # An API key is kept in access_token with no expiry.
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)
    calendar_id = models.CharField(
        _("calendar id"),
        max_length=254,
        blank=True,
        help_text=_("Google: the calendar to use; “primary” is the account's main calendar."),
    )
    event_type_id = models.CharField(
        _("event type id"),
        max_length=32,
        blank=True,
        help_text=_("Cal.com: the numeric id of the event type bookings are made for."),
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service for its bookings"),
        help_text=_("Cal.com: bookings made in Cal.com are recorded as this service."),
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        ordering = ["provider", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "location", "provider"],
                name="calendar_connection_one_per_provider",
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["organisation", "provider", "event_type_id"]),
        ]

    def __str__(self):
        return f"{self.get_provider_display()} · {self.location}"

    def record_success(self, *, synced: bool = False) -> None:
        fields = {"status": self.Status.CONNECTED, "last_error": ""}
        if synced:
            fields["last_synced_at"] = timezone.now()
        self._update(**fields)

    def record_error(self, message: str, *, status: str | None = None) -> None:
        """Keep the error to show on the Integrations page; `status` changes the status too."""
        fields = {"last_error": message[:2000], "last_error_at": timezone.now()}
        if status:
            fields["status"] = status
        self._update(**fields)

    def store_tokens(self, *, access_token: str, expires_at, refresh_token: str = "") -> None:
        self.access_token = access_token
        self.token_expires_at = expires_at
        fields = ["access_token", "token_expires_at", "status", "updated_at"]
        if refresh_token:
            self.refresh_token = refresh_token
            fields.append("refresh_token")
        self.status = self.Status.CONNECTED
        self.save(update_fields=fields)

    def _update(self, **fields) -> None:
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=[*fields, "updated_at"])


class BusyBlock(TenantModel):
    """Time taken in an external calendar, copied by the background sync so the availability
    engine never has to call a provider while a caller waits."""

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        ordering = ["start_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_at__lt=models.F("end_at")), name="busy_block_start_before_end"
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "location", "start_at"]),
            models.Index(fields=["organisation", "connection", "start_at"]),
        ]

    def __str__(self):
        return f"busy {self.start_at:%Y-%m-%d %H:%M} to {self.end_at:%H:%M} UTC"


class CalendarWebhookDelivery(models.Model):
    """A Cal.com webhook delivery, stored raw before it is processed so it can be replayed.

    Platform data, not a tenant row: the organisation is only known after the body is read.
    """

    provider = models.CharField(max_length=16, default=CalendarConnection.Provider.CALCOM)
    event_id = models.CharField(max_length=255)
    trigger = models.CharField(max_length=64, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    organisation = models.ForeignKey(
        "organisations.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = _("calendar webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="calendar_webhook_event_unique"
            )
        ]

    def __str__(self):
        return f"{self.provider} {self.trigger} {self.event_id}"
