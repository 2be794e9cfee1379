"""Settings come from the environment; production passes `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "hub.settings.production",
    "DJANGO_SECRET_KEY": "x9!kQ2#vL7@pR4$wZ1^mN8&bT5*cY3(hJ6)dF0_gS2+eA7=uI4",
    "DJANGO_ALLOWED_HOSTS": "hub.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
    "KEYS_DATABASE_URL": "sqlite:///:memory:",
    "SEALING_KEKS": "2026-1=cHJvZHVjdGlvbi10ZXN0LWtlay0zMi1ieXRlcy0hISE=",
}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "DATABASE_URL", "KEYS_DATABASE_URL", "SEALING_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_does_not_start_without_key_encryption_keys():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SEALING_KEKS"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "consent_ledger.E002" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_postgres_url_uses_psycopg_pool():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['OPTIONS']['pool']['max_size'])"
    env = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://hub@db.internal:5432/hub", "DATABASE_POOL_MAX": "7"}

    result = manage("shell", "--no-imports", "-c", code, env=env)

    assert result.stdout.split() == ["django.db.backends.postgresql", "7"], result.stderr


@pytest.mark.parametrize(("flag", "expected"), [(None, ["True", "5"]), ("false", ["False", "None"])])
def test_postgres_prepares_repeated_statements_unless_told_not_to(flag, expected):
    """Server-side binding with psycopg's prepared statements (Django turns
    them off by default); both off for a transaction-mode pgbouncer."""
    code = ("from django.conf import settings; options = settings.DATABASES['default']['OPTIONS']; "
            "print(options['server_side_binding'], options['prepare_threshold'])")
    env = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://hub@db.internal:5432/hub"}
    if flag is not None:
        env["DATABASE_SERVER_SIDE_BINDING"] = flag

    result = manage("shell", "--no-imports", "-c", code, env=env)

    assert result.stdout.split() == expected, result.stderr
