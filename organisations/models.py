import hashlib
import secrets
import uuid
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from organisations.phone import PhoneNumberField
from organisations.roles import Role
from organisations.tenancy import TenantModel, TenantScopeError, current_organisation

LANGUAGES = [("en", "English"), ("es", "Español"), ("ru", "Русский")]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Which organisations they see comes from their memberships."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="en")
    is_staff = models.BooleanField(
        _("platform staff"), default=False, help_text=_("Can use the platform admin.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        super().save(*args, **kwargs)

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organisation(models.Model):
    """A clinic or business: the tenant. Everything it owns carries its id."""

    class Industry(models.TextChoices):
        DENTAL = "dental", _("Dental")
        MEDICAL = "medical", _("Medical practice")
        PHYSIOTHERAPY = "physiotherapy", _("Physiotherapy")
        VETERINARY = "veterinary", _("Veterinary")
        BEAUTY = "beauty", _("Beauty and wellness")
        LEGAL = "legal", _("Legal")
        HOME_SERVICES = "home_services", _("Home services")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    industry = models.CharField(
        _("industry"), max_length=32, choices=Industry.choices, default=Industry.OTHER
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        default="US",
        help_text=_("Two-letter code; phone numbers written without +country are read as local."),
    )
    default_language = models.CharField(
        _("default language"), max_length=8, choices=LANGUAGES, default="en"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    retention_days = models.PositiveIntegerField(
        _("keep transcripts and recordings for (days)"),
        null=True,
        blank=True,
        help_text=_("Older ones are deleted every night. Leave empty to keep them."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self.unique_slug(self.name)
        self.country = self.country.upper()
        super().save(*args, **kwargs)

    @staticmethod
    def unique_slug(name: str) -> str:
        base = slugify(name)[:60] or "clinic"
        slug, n = base, 1
        while Organisation.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug

    @classmethod
    def create_with_owner(cls, *, name, owner, industry="other", country="US", timezone_name="UTC"):
        """A new organisation with its first (default) location and `owner` as its owner."""
        from organisations.tenancy import tenant_transaction

        organisation = cls.objects.create(name=name, industry=industry, country=country)
        with tenant_transaction(organisation):
            Location.objects.create(name=name, timezone=timezone_name, is_default=True)
            Membership.objects.create(user=owner, role=Role.OWNER)
        return organisation

    @property
    def default_location(self):
        return (
            Location.all_organisations.filter(organisation=self)
            .order_by("-is_default", "name")
            .first()
        )


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a time zone name like Europe/London."),
            params={"value": value},
            code="invalid",
        )


class Location(TenantModel):
    """A site of the organisation (reference 004 calls these businesses); hours and calls are
    per location, in its own time zone."""

    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    phone = PhoneNumberField(_("front desk phone"), blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    is_default = models.BooleanField(_("default location"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="location_name_unique"),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_default=True),
                name="location_one_default",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "name"])]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def now(self):
        return timezone.now().astimezone(self.zone)

    def make_default(self) -> None:
        with transaction.atomic():
            Location.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)
            self.is_default = True
            self.save(update_fields=["is_default"])


class Membership(TenantModel):
    """A user's role in an organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    @property
    def rank(self) -> int:
        return Role.rank(self.role)

    def allows(self, role: str) -> bool:
        return Role.rank(self.role) >= Role.rank(role)

    def is_last_owner(self) -> bool:
        return (
            self.role == Role.OWNER
            and not Membership.objects.filter(role=Role.OWNER).exclude(pk=self.pk).exists()
        )

    def change_role(self, role: str) -> None:
        """Set the role; an organisation always keeps at least one owner."""
        if role != Role.OWNER and self.is_last_owner():
            raise LastOwnerError(
                _("%(user)s is the only owner. Make someone else owner first."),
                params={"user": self.user},
            )
        self.role = role
        self.save(update_fields=["role"])

    def remove(self) -> None:
        if self.is_last_owner():
            raise LastOwnerError(
                _("The only owner cannot leave or be removed. Transfer ownership first.")
            )
        self.delete()

    def transfer_ownership_to(self, other: "Membership") -> None:
        """Make `other` an owner and this owner an admin, in one step."""
        if self.role != Role.OWNER:
            raise LastOwnerError(_("Only an owner can transfer ownership."))
        with transaction.atomic():
            other.role = Role.OWNER
            other.save(update_fields=["role"])
            self.change_role(Role.ADMIN)


class LastOwnerError(ValidationError):
    """The change would leave the organisation without an owner."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationError(ValidationError):
    """An invitation that cannot be used, with the reason to show."""


class Invitation(TenantModel):
    """An email invitation to join an organisation with a role. The link's token is stored only
    as a hash, works once and for INVITATION_VALID_DAYS."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    sent_count = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address: a resend refreshes it instead of adding another.
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
            )
        ]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self):
        return f"{self.email} → {self.organisation_id} ({self.role})"

    def issue_token(self) -> str:
        """Give the invitation a fresh token and expiry; returns the token for the email link."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.expires_at = timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)
        return token

    @classmethod
    def find_by_token(cls, token: str) -> "Invitation | None":
        # Anonymous visitors hold only the token, so this lookup spans organisations.
        return (
            cls.all_organisations.select_related("organisation")
            .filter(token_hash=hash_token(token))
            .first()
        )

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.EXPIRED or (
            self.status == self.Status.PENDING and self.expires_at <= timezone.now()
        )

    def check_usable_by(self, email: str | None = None) -> None:
        if self.status == self.Status.REVOKED:
            raise InvitationError(_("This invitation was withdrawn."), code="revoked")
        if self.status in (self.Status.ACCEPTED, self.Status.DECLINED):
            raise InvitationError(_("This invitation has already been used."), code="used")
        if self.is_expired:
            raise InvitationError(
                _("This invitation has expired. Ask for a new one."), code="expired"
            )
        if email is not None and email.lower() != self.email.lower():
            raise InvitationError(
                _("This invitation was sent to %(email)s. Sign in with that address to accept it."),
                params={"email": self.email},
                code="wrong_email",
            )

    def accept(self, user) -> "Membership":
        """Join the organisation. Single use: a second call raises InvitationError."""
        with transaction.atomic():
            locked = Invitation.all_organisations.select_for_update().get(pk=self.pk)
            locked.check_usable_by(user.email)
            membership, created = Membership.all_organisations.get_or_create(
                organisation_id=self.organisation_id, user=user, defaults={"role": self.role}
            )
            if not created and Role.rank(self.role) > membership.rank:
                membership.role = self.role
                membership.save(update_fields=["role"])
            Invitation.all_organisations.filter(pk=self.pk).update(
                status=self.Status.ACCEPTED, accepted_by=user, responded_at=timezone.now()
            )
            self.status = self.Status.ACCEPTED
        return membership

    def decline(self) -> None:
        self.check_usable_by()
        self.status = self.Status.DECLINED
        self.responded_at = timezone.now()
        self.save(update_fields=["status", "responded_at"])


class Customer(TenantModel):
    """A caller or patient of the organisation, known by their phone number."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = PhoneNumberField(_("phone"))
    location = models.ForeignKey(
        Location,
        verbose_name=_("usual location"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    email = models.EmailField(_("email"), blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=LANGUAGES, default="en"
    )
    notes = models.TextField(_("notes"), blank=True)
    sms_opt_out = models.BooleanField(_("opted out of SMS"), default=False)
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        ordering = ["name", "phone"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "phone"], name="customer_phone_unique")
        ]
        indexes = [
            models.Index(fields=["organisation", "name"]),
            models.Index(fields=["organisation", "-last_contact_at"]),
        ]

    def __str__(self):
        return self.name or self.phone

    def set_sms_opt_out(self, opted_out: bool) -> None:
        self.sms_opt_out = opted_out
        self.sms_opted_out_at = timezone.now() if opted_out else None
        self.save(update_fields=["sms_opt_out", "sms_opted_out_at", "updated_at"])

    @classmethod
    def for_phone(cls, phone_e164: str, *, name: str = "", when=None) -> "Customer":
        """The current organisation's customer with this number, created on first contact."""
        when = when or timezone.now()
        customer, created = cls.objects.get_or_create(
            phone=phone_e164, defaults={"name": name, "first_contact_at": when}
        )
        updates = {"last_contact_at": when}
        if not created and not customer.name and name:
            updates["name"] = name
        if customer.last_contact_at is None or customer.last_contact_at < when:
            cls.objects.filter(pk=customer.pk).update(**updates)
            for key, value in updates.items():
                setattr(customer, key, value)
        return customer


class AuditEvent(TenantModel):
    """Who changed what in an organisation: memberships, roles, settings, integrations."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=False)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self):
        return f"{self.action} {self.target_repr}"

    @classmethod
    def record(cls, request, action: str, target=None, *, before=None, after=None):
        """Write an audit entry for the current organisation, by the request's user."""
        if current_organisation() is None:
            raise TenantScopeError("Audit events belong to an organisation")
        user = getattr(request, "user", None)
        return cls.objects.create(
            actor=user if user is not None and user.is_authenticated else None,
            action=action,
            target_type=type(target).__name__ if target is not None else "",
            target_id=str(getattr(target, "pk", "")) if target is not None else "",
            target_repr=str(target)[:255] if target is not None else "",
            before=before or {},
            after=after or {},
            ip_address=client_ip(request),
        )


def client_ip(request) -> str | None:
    if request is None:
        return None
    # Behind the proxy the client is the first X-Forwarded-For entry.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


class Notification(TenantModel):
    """An in-app message to an organisation's staff (or one person when `recipient` is set)."""

    class Level(models.TextChoices):
        INFO = "info", _("Info")
        SUCCESS = "success", _("Success")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Needs attention")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "read_at", "-created_at"])]

    def __str__(self):
        return self.title

    @classmethod
    def for_user(cls, user) -> models.QuerySet:
        return cls.objects.filter(Q(recipient__isnull=True) | Q(recipient=user))

    @classmethod
    def notify(
        cls, title: str, *, body: str = "", level=Level.INFO, link: str = "", recipient=None
    ):
        return cls.objects.create(
            title=title[:200], body=body, level=level, link=link, recipient=recipient
        )


class ApiKey(TenantModel):
    """A per-organisation key for the REST API. The full key is shown once, at creation; we keep
    its SHA-256 and a short public prefix to find it by."""

    PREFIX = "fd"

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self):
        return f"{self.name} ({self.PREFIX}_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def issue(self) -> str:
        """Give the key its secret; returns the full key, which is never stored or shown again."""
        self.prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        self.key_hash = hash_token(secret)
        return f"{self.PREFIX}_{self.prefix}_{secret}"

    @classmethod
    def find(cls, raw_key: str) -> "ApiKey | None":
        """The active key matching `raw_key` (any organisation: the caller has only the key)."""
        parts = (raw_key or "").strip().split("_", 2)
        if len(parts) != 3 or parts[0] != cls.PREFIX:
            return None
        key = (
            cls.all_organisations.select_related("organisation")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        )
        if key is None or not secrets.compare_digest(key.key_hash, hash_token(parts[2])):
            return None
        return key

    def allows(self, role: str) -> bool:
        return Role.rank(self.role) >= Role.rank(role)

    def touch(self) -> None:
        """Record use, at most once a minute so busy integrations don't write on every call."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            ApiKey.all_organisations.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
