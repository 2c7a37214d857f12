"""`make run`: SQLite, no Redis, no provider accounts, emails printed to the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-key-not-for-production-use-0123456789")
# A fixed development key so `make run` works without configuration; production requires its own.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTAxMjM0NTY3ODk="]
)
