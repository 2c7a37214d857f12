"""Production settings refuse to start half-configured, and pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 64 + "-production-secret-key-with-enough-entropy-0123456789",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://frontdesk_app@127.0.0.1:5432/frontdesk",
    "ALLOWED_HOSTS": "frontdesk.example.com",
    "PUBLIC_BASE_URL": "https://frontdesk.example.com",
}


def manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in COMPLETE and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "REDIS_URL", "PUBLIC_BASE_URL"]
)
def test_a_missing_secret_stops_the_start(missing):
    env = {k: v for k, v in COMPLETE.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_sqlite_is_refused_in_production():
    result = manage("check", env={**COMPLETE, "DATABASE_URL": "sqlite:///prod.sqlite3"})
    assert result.returncode != 0
    assert "Production runs on PostgreSQL" in result.stderr


def test_deploy_checks_are_clean():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=COMPLETE)
    assert result.returncode == 0, result.stdout + result.stderr
