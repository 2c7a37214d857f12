"""Settings shared by every environment. Everything configurable comes from the environment."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# GENERAL
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The public address providers call back (webhook signatures are computed over it).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# DATABASES
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# The ordinary (non-owner, non-superuser) role the web and worker processes use on PostgreSQL;
# row-level security applies to it. Migrations run as the table owner.
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="frontdesk_app")

# APPS
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # Domain apps, in import order: an app may import only the apps listed before it.
    "organisations",
    "billing",
    "calendars",
    "telephony",
]

AUTH_USER_MODEL = "organisations.User"
AUTHENTICATION_BACKENDS = [
    # axes first so a locked-out login is refused before the password is checked
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "organisations:home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "organisations.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last, so the view and template rendering run inside its transaction and tenant.
    "organisations.middleware.TenantMiddleware",
    # After TenantMiddleware: its process_view() runs once request.organisation is set, inside
    # the tenant transaction, and refuses dashboard writes of a read-only organisation.
    "billing.middleware.ReadOnlyMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organisations.context_processors.dashboard",
                "billing.context_processors.billing_banner",
            ],
        },
    }
]

# STATIC
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# SECURITY
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Secrets at rest: comma-separated Fernet keys, newest first (the first encrypts, all decrypt).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# EMAIL
# EMAIL_URL: consolemail:// (default, prints to the terminal) or smtp+tls://user:pass@host:587
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Frontdesk <noreply@frontdesk.local>")

# LOGIN LOCKOUT (django-axes): lock the username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# CACHE: keys for tenant data always carry the organisation id (see organisations.tenancy).
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "frontdesk",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# CELERY: Redis in CI and production; without REDIS_URL tasks run in-process (make run).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-invitations": {
        "task": "organisations.tasks.expire_invitations",
        "schedule": crontab(minute="*/15"),
    },
    "billing-enforce-access": {
        "task": "billing.tasks.enforce_billing_access",
        "schedule": crontab(minute=7),
    },
    "billing-retry-usage-reports": {
        "task": "billing.tasks.retry_usage_reports",
        "schedule": crontab(minute="*/5"),
    },
    "calendars-refresh-expiring-tokens": {
        "task": "calendars.tasks.refresh_expiring_tokens",
        "schedule": crontab(minute="*/10"),
    },
    "calendars-sync-busy-times": {
        "task": "calendars.tasks.sync_busy_times",
        "schedule": crontab(minute="5-59/10"),
    },
}

# REST FRAMEWORK
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "organisations.api.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["organisations.api.HasOrganisationRole"],
    "DEFAULT_THROTTLE_CLASSES": ["organisations.api.PerCallerThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env("API_RATE_LIMIT", default="600/minute")},
    "DEFAULT_PAGINATION_CLASS": "organisations.api.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Frontdesk API",
    "DESCRIPTION": "Calls, appointments, customers and availability of one organisation. "
    "Authenticate with an organisation API key: `Authorization: Bearer fd_...`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Assets come from the installed sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# PROVIDERS (all optional for make run; features that need them say so in the dashboard)
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
VAPI_API_KEY = env("VAPI_API_KEY", default="")
VAPI_WEBHOOK_SECRET = env("VAPI_WEBHOOK_SECRET", default="")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# BILLING (docs/billing.md): the meter's event name, and how access ends when nobody pays.
STRIPE_METER_EVENT_NAME = env("STRIPE_METER_EVENT_NAME", default="frontdesk_call_minutes")
BILLING_DEFAULT_PLAN = env("BILLING_DEFAULT_PLAN", default="trial")
BILLING_TRIAL_DAYS = env.int("BILLING_TRIAL_DAYS", default=14)
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
CALCOM_CLIENT_ID = env("CALCOM_CLIENT_ID", default="")
CALCOM_CLIENT_SECRET = env("CALCOM_CLIENT_SECRET", default="")
CALCOM_WEBHOOK_SECRET = env("CALCOM_WEBHOOK_SECRET", default="")

# Invitations
INVITATION_VALID_DAYS = 7

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# TELEPHONY
# Where texts go, like EMAIL_BACKEND: telephony.sms.TwilioBackend (real, via the twilio SDK),
# telephony.sms.ConsoleBackend (prints them; `make run`), telephony.sms.InMemoryBackend (tests).
SMS_BACKEND = env("SMS_BACKEND", default="telephony.sms.ConsoleBackend")
VAPI_API_URL = env("VAPI_API_URL", default="https://api.vapi.ai").rstrip("/")
# Twilio waits 15 s for TwiML in all, so creating the Vapi call must give up well before that and
# leave time to answer with the fallback <Dial>.
VAPI_TIMEOUT_SECONDS = env.float("VAPI_TIMEOUT_SECONDS", default=6.0)
# A Vapi custom credential holding VAPI_WEBHOOK_SECRET (bearer, X-Vapi-Secret or HMAC): transient
# assistants name it so Vapi authenticates to us. Empty: the secret travels as an X-Vapi-Secret
# server header of the assistant instead (see docs/telephony.md).
VAPI_SERVER_CREDENTIAL_ID = env("VAPI_SERVER_CREDENTIAL_ID", default="")
# HMAC-signed Vapi deliveries older than this (by their timestamp header) are refused as replays.
VAPI_WEBHOOK_TOLERANCE_SECONDS = env.int("VAPI_WEBHOOK_TOLERANCE_SECONDS", default=300)
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# The per-number assistant configuration is cached (and dropped when its settings change); the
# expiry bounds staleness from changes no signal reports.
TELEPHONY_ASSISTANT_CACHE_SECONDS = env.int("TELEPHONY_ASSISTANT_CACHE_SECONDS", default=600)
SMS_MAX_RETRIES = env.int("SMS_MAX_RETRIES", default=5)
CELERY_BEAT_SCHEDULE["telephony-send-due-reminders"] = {
    "task": "telephony.tasks.send_due_reminders",
    "schedule": crontab(minute="*/5"),
}
CELERY_BEAT_SCHEDULE["telephony-escalate-emergencies"] = {
    "task": "telephony.tasks.escalate_emergencies",
    "schedule": crontab(minute="*"),
}
# Raw Vapi/Twilio deliveries (numbers, transcripts) are kept this long once processed.
TELEPHONY_WEBHOOK_RETENTION_DAYS = env.int("TELEPHONY_WEBHOOK_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["telephony-purge-old-deliveries"] = {
    "task": "telephony.tasks.purge_old_deliveries",
    "schedule": crontab(hour=3, minute=17),
}
