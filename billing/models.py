"""Plans, subscriptions, invoices, usage and the raw Stripe events they are built from.

Stripe is the source of truth for money; these rows mirror it so pages and the phone path read
local data only. `Plan` and `StripeEvent` are platform rows (no tenant); the rest are tenant rows.
"""

import math
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisations.tenancy import TenantModel


class Plan(models.Model):
    """What a clinic can buy: Stripe prices plus the limits and features we enforce.

    `monthly_price` and `minute_price` are for display only; Stripe charges from its prices.
    A blank limit means unlimited.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=255, blank=True)
    stripe_price_id = models.CharField(
        _("Stripe base price id"), max_length=255, blank=True, help_text=_("price_… (monthly)")
    )
    stripe_metered_price_id = models.CharField(
        _("Stripe metered minutes price id"),
        max_length=255,
        blank=True,
        help_text=_("price_… attached to the call-minutes meter"),
    )
    currency = models.CharField(max_length=3, default="usd")
    monthly_price = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    minute_price = models.DecimalField(
        _("price per minute over the included amount"), max_digits=7, decimal_places=4, default=0
    )
    included_minutes = models.PositiveIntegerField(default=0)
    seats = models.PositiveIntegerField(_("team members"), null=True, blank=True)
    phone_numbers = models.PositiveIntegerField(null=True, blank=True)
    locations = models.PositiveIntegerField(null=True, blank=True)
    feature_calcom = models.BooleanField(_("Cal.com calendars"), default=False)
    feature_outbound_calls = models.BooleanField(_("outbound calls"), default=False)
    trial_days = models.PositiveSmallIntegerField(
        default=0, help_text=_("Free days at Checkout; the card is asked for only at the end.")
    )
    is_public = models.BooleanField(_("offered on the billing page"), default=True)
    is_archived = models.BooleanField(
        _("archived"), default=False, help_text=_("Kept for existing subscribers, not sold.")
    )
    sort_order = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    # The plan of organisations that have not subscribed yet, when no Plan row has its code.
    FALLBACK_DEFAULT = {
        "name": "Free trial",
        "included_minutes": 100,
        "seats": 3,
        "phone_numbers": 1,
        "locations": 1,
        "is_public": False,
    }

    class Meta:
        ordering = ["sort_order", "monthly_price"]

    def __str__(self):
        return self.name

    @property
    def purchasable(self) -> bool:
        return bool(self.stripe_price_id) and self.is_public and not self.is_archived

    def limit(self, resource: str) -> int | None:
        return {
            "member": self.seats,
            "location": self.locations,
            "phone_number": self.phone_numbers,
        }[resource]

    def has_feature(self, feature: str) -> bool:
        return getattr(self, f"feature_{feature}")

    @classmethod
    def for_sale(cls) -> models.QuerySet:
        return cls.objects.filter(is_public=True, is_archived=False).exclude(stripe_price_id="")

    @classmethod
    def default(cls) -> "Plan":
        """The plan of organisations without a subscription (unsaved if nobody created it)."""
        code = settings.BILLING_DEFAULT_PLAN
        return cls.objects.filter(code=code).first() or cls(code=code, **cls.FALLBACK_DEFAULT)

    @classmethod
    def ensure_default(cls) -> "Plan":
        return cls.objects.get_or_create(
            code=settings.BILLING_DEFAULT_PLAN, defaults=cls.FALLBACK_DEFAULT
        )[0]

    @classmethod
    def for_stripe_prices(cls, price_ids) -> "Plan | None":
        return cls.objects.filter(stripe_price_id__in=list(price_ids)).first()


class Access(models.TextChoices):
    """What an organisation may do, derived from its subscription (see Subscription.access_at)."""

    FULL = "full", _("Full service")
    GRACE = "grace", _("Payment problem: full service for a grace period")
    READ_ONLY = "read_only", _("Trial over: read-only, calls forwarded")
    SUSPENDED = "suspended", _("Suspended: read-only, calls forwarded")


RESTRICTED = {Access.READ_ONLY, Access.SUSPENDED}


def access_cache_key(organisation_id) -> str:
    # Same shape as organisations.tenancy.tenant_cache_key, built from an explicit id because the
    # phone path may ask about an organisation before entering its tenant.
    return f"org:{organisation_id}:billing:access"


class Subscription(TenantModel):
    """The organisation's subscription, mirroring Stripe's (one per organisation).

    An organisation with no row is on an implicit free trial of the default plan (see
    `Subscription.current`). A row with no Stripe subscription id is a local trial.
    """

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        UNPAID = "unpaid", _("Unpaid")
        CANCELED = "canceled", _("Canceled")
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        PAUSED = "paused", _("Paused (trial ended without payment method)")

    # Statuses after which Stripe never bills this subscription again.
    ENDED = {Status.CANCELED, Status.INCOMPLETE_EXPIRED}

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.TRIALING)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(
        null=True, blank=True, help_text=_("Start of the grace period.")
    )
    restricted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the owners were told that calls are forwarded and the dashboard is "
            "read-only; cleared when service is restored."
        ),
    )
    minutes_hard_cap = models.PositiveIntegerField(
        _("stop answering after this many minutes a period"),
        null=True,
        blank=True,
        help_text=_("Optional. Past it, calls go to your fallback number until the next period."),
    )
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organisation"], name="subscription_one_per_org")
        ]
        # No index on the Stripe ids: webhook lookups scan one row per organisation, rarely.

    def __str__(self):
        return f"{self.plan} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.forget_cached_access()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.forget_cached_access()
        return result

    def forget_cached_access(self) -> None:
        key = access_cache_key(self.organisation_id)
        cache.delete(key)
        # Again after commit, in case a reader cached the old row before this one was committed.
        transaction.on_commit(lambda: cache.delete(key))

    @classmethod
    def current(cls, organisation) -> "Subscription":
        """The current organisation's subscription, or an unsaved implicit trial."""
        found = cls.objects.select_related("plan").first()
        return found or cls.implicit_trial(organisation)

    @classmethod
    def implicit_trial(cls, organisation) -> "Subscription":
        trial_end = organisation.created_at + timedelta(days=settings.BILLING_TRIAL_DAYS)
        return cls(
            organisation=organisation,
            plan=Plan.default(),
            status=cls.Status.TRIALING,
            trial_end=trial_end,
            current_period_start=organisation.created_at,
            current_period_end=trial_end,
        )

    @classmethod
    def materialise(cls, organisation) -> "Subscription":
        """The current organisation's row, creating the implicit trial's row if needed."""
        found = cls.objects.select_for_update().select_related("plan").first()
        if found is not None:
            return found
        subscription = cls.implicit_trial(organisation)
        subscription.plan = Plan.ensure_default()
        subscription.save()
        return subscription

    @property
    def is_local(self) -> bool:
        return not self.stripe_subscription_id

    @property
    def grace_ends(self) -> datetime | None:
        if self.past_due_since is None:
            return None
        return self.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)

    def access_at(self, now: datetime) -> tuple[str, datetime | None]:
        """(access, until when it holds at the latest) for this subscription at `now`.

        Stripe decides when its own trials end (it moves them to active, or to paused without a
        payment method); a local trial ends at `trial_end` by our clock.
        """
        status = self.status
        if status == self.Status.TRIALING:
            if self.is_local and self.trial_end is not None:
                if now >= self.trial_end:
                    return Access.READ_ONLY, None
                return Access.FULL, self.trial_end
            return Access.FULL, None
        if status == self.Status.ACTIVE:
            return Access.FULL, None
        if status == self.Status.PAST_DUE:
            grace_ends = self.grace_ends or now
            if now < grace_ends:
                return Access.GRACE, grace_ends
            return Access.SUSPENDED, None
        if status == self.Status.INCOMPLETE:
            # The first payment needs the customer (3-D Secure); Stripe expires it after 23 h.
            return Access.GRACE, None
        if status == self.Status.PAUSED:
            return Access.READ_ONLY, None
        return Access.SUSPENDED, None  # unpaid, canceled, incomplete_expired

    def record_status(self, status: str, now: datetime) -> None:
        """Set the status, starting or ending the grace period and the restriction notice."""
        if status == self.Status.PAST_DUE and self.status != self.Status.PAST_DUE:
            self.past_due_since = now
        elif status not in (self.Status.PAST_DUE, self.Status.UNPAID):
            self.past_due_since = None
        self.status = status
        if self.access_at(now)[0] not in RESTRICTED:
            self.restricted_at = None

    def period(self) -> tuple[datetime | None, datetime | None]:
        return self.current_period_start, self.current_period_end


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Due")
    PAID = "paid", _("Paid")
    UNCOLLECTIBLE = "uncollectible", _("Uncollectible")
    VOID = "void", _("Void")


# Invoices only move forward (draft → open → paid/void/uncollectible); a late event for an
# earlier stage must not undo a later one.
INVOICE_STAGE = {
    InvoiceStatus.DRAFT: 0,
    InvoiceStatus.OPEN: 1,
    InvoiceStatus.PAID: 2,
    InvoiceStatus.UNCOLLECTIBLE: 2,
    InvoiceStatus.VOID: 2,
}


class Invoice(TenantModel):
    """A Stripe invoice of the organisation, kept for the billing page."""

    Status = InvoiceStatus

    stripe_invoice_id = models.CharField(max_length=255)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices)
    amount_due = models.IntegerField(default=0, help_text=_("In the currency's minor unit."))
    amount_paid = models.IntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf_url = models.URLField(max_length=1000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(help_text=_("When Stripe created the invoice."))
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "stripe_invoice_id"], name="invoice_stripe_id_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation", "-issued_at"])]

    def __str__(self):
        return self.number or self.stripe_invoice_id

    @classmethod
    def record(cls, snapshot) -> "Invoice":
        """Create or update the current organisation's copy of a Stripe invoice snapshot."""
        invoice = cls.objects.select_for_update().filter(stripe_invoice_id=snapshot.id).first()
        if invoice is not None and INVOICE_STAGE.get(snapshot.status, 0) < INVOICE_STAGE.get(
            invoice.status, 0
        ):
            return invoice
        invoice = invoice or cls(stripe_invoice_id=snapshot.id)
        invoice.number = snapshot.number
        invoice.status = snapshot.status
        invoice.amount_due = snapshot.amount_due
        invoice.amount_paid = snapshot.amount_paid
        invoice.currency = snapshot.currency
        invoice.hosted_invoice_url = snapshot.hosted_invoice_url
        invoice.invoice_pdf_url = snapshot.invoice_pdf
        invoice.period_start = snapshot.period_start
        invoice.period_end = snapshot.period_end
        invoice.issued_at = snapshot.created
        invoice.paid_at = snapshot.paid_at
        invoice.save()
        return invoice


def minutes_for(seconds: int) -> int:
    """Billable minutes: every started minute counts."""
    if seconds < 0:
        raise ValueError("A call cannot last a negative number of seconds")
    return math.ceil(seconds / 60)


class UsageRecord(TenantModel):
    """The minutes of one finished call, and whether Stripe's meter has them."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be reported")
        REPORTED = "reported", _("Reported to Stripe")
        SKIPPED = "skipped", _("Not billed through Stripe")
        FAILED = "failed", _("Could not be reported")

    MAX_ATTEMPTS = 12

    call_id = models.CharField(max_length=128)
    seconds = models.PositiveIntegerField()
    minutes = models.PositiveIntegerField()
    ended_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-ended_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "call_id"], name="usage_call_unique")
        ]
        indexes = [
            models.Index(fields=["organisation", "ended_at"]),
            # Small (pending rows only): the periodic retry scan reads it across organisations.
            models.Index(
                fields=["organisation", "next_attempt_at"],
                condition=Q(status="pending"),
                name="usage_pending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.call_id}: {self.minutes} min"

    @classmethod
    def minutes_since(cls, start: datetime | None) -> int:
        """Minutes the current organisation used from `start` (our records, not Stripe's)."""
        queryset = cls.objects.all() if start is None else cls.objects.filter(ended_at__gte=start)
        return queryset.aggregate(total=Sum("minutes"))["total"] or 0

    def backoff(self) -> timedelta:
        """Wait before attempt `attempts + 1`: 1, 2, 4 … minutes, at most six hours."""
        return timedelta(minutes=min(2 ** max(self.attempts - 1, 0), 360))

    def is_waiting_for_retry(self, now: datetime) -> bool:
        return bool(self.attempts and self.next_attempt_at and self.next_attempt_at > now)

    def mark_reported(self) -> None:
        self.reported_at = timezone.now()
        self._finish(self.Status.REPORTED, "")

    def mark_skipped(self, reason: str) -> None:
        self._finish(self.Status.SKIPPED, reason)

    def mark_failed(self, error: str) -> None:
        self._finish(self.Status.FAILED, error)

    def schedule_retry(self, error: str) -> None:
        self.last_error = error
        self.next_attempt_at = timezone.now() + self.backoff()
        self.save(update_fields=[*self.PROGRESS_FIELDS])

    def _finish(self, status: str, error: str) -> None:
        self.status = status
        self.last_error = error
        self.next_attempt_at = None
        self.save(update_fields=[*self.PROGRESS_FIELDS, "status", "reported_at"])

    PROGRESS_FIELDS = ("attempts", "last_error", "next_attempt_at")


class StripeEvent(models.Model):
    """A verified Stripe webhook delivery, stored before it is processed (platform row).

    The unique event id makes processing idempotent; `processed_at` stays empty until a delivery
    was handled, so a failed one is processed again on Stripe's redelivery or from the admin.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["type", "-received_at"])]

    def __str__(self):
        return f"{self.type} {self.event_id}"
