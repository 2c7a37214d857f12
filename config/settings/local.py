"""`make run`: SQLite, no Redis, no provider accounts, emails printed to the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-key-not-for-production-use-0123456789")
# A fixed development key so `make run` works without configuration; production requires its own.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTAxMjM0NTY3ODk="]
)
# `manage.py simulate_call` signs its requests with this, so a call can be simulated with no
# Vapi account; set your own (and the same in Vapi) as soon as a real number is connected.
VAPI_WEBHOOK_SECRET = env("VAPI_WEBHOOK_SECRET", default="local-development-vapi-secret")
