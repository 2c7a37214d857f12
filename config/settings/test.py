"""Tests: PostgreSQL when DATABASE_URL points at one (CI), otherwise SQLite."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
FIELD_ENCRYPTION_KEYS = [
    "dGVzdC1rZXktbmV3ZXN0LTAxMjM0NTY3ODlhYmNkZWY=",
    "dGVzdC1rZXktb2xkZXItMDEyMzQ1Njc4OWFiY2RlZmc=",
]
# Tasks run inline so tests see their effects; CI still exercises the Redis connection in health.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS_URL = env("REDIS_URL", default="")
PUBLIC_BASE_URL = "https://frontdesk.test"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SMS_BACKEND = "telephony.sms.InMemoryBackend"
VAPI_API_URL = "https://api.vapi.test"
VAPI_API_KEY = "vapi-private-key-for-tests"
VAPI_WEBHOOK_SECRET = "vapi-webhook-secret-for-tests"
VAPI_SERVER_CREDENTIAL_ID = ""
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "twilio-auth-token-for-tests"
