"""Secrets at rest (OAuth tokens, provider credentials): Fernet with key rotation.

`FIELD_ENCRYPTION_KEYS` lists keys newest first. The newest encrypts; every key decrypts, so a new
key can be put in front, `manage.py rotate_encryption_keys` run, and the old key removed later.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

MASK = "••••••••"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: secrets cannot be stored")
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold url-safe base64 32-byte keys "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS (was a key removed?)"
        ) from exc


def mask(secret: str | None) -> str:
    """What people see of a secret: that it exists and its last four characters at most."""
    if not secret:
        return ""
    return MASK + secret[-4:] if len(secret) >= 12 else MASK


class EncryptedTextField(models.TextField):
    """Stores text encrypted; Python code sees plaintext. Not searchable or orderable."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields(model) -> list[EncryptedTextField]:
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
