"""Settings safety and the payql command line."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from app.cli import refusal_text
from app.settings import DEV_JWT_SECRET, ENV_EXAMPLE_SECRET, Settings, weak_secret_reason
from tests.conftest import ROOT

STRONG = "Zq3vN8kT1mW6xR0bY5cL9hP2sD7fJ4gA"  # 32 bytes, 32 distinct characters
SANDBOX_STRONG = "Hs2Kx9Lm4Pq7Rt1Vw6Yz0Bc3Df8Gj5Nn"
PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----…"
WEAK = [
    None,
    "",
    DEV_JWT_SECRET,
    ENV_EXAMPLE_SECRET,
    "short-secret",
    "a" * 32,
    " " * 32,
    "ab" * 32,  # two distinct characters
    "0123456789" * 3 + "01",  # ten distinct characters, 106 bits estimated
    "my-changeme-secret-with-many-characters-Q7",
]


@pytest.mark.parametrize("secret", WEAK)
def test_production_refuses_a_missing_published_or_low_entropy_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="refusing to start"):
        Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=secret, _env_file=None)


def test_the_secret_rule_passes_generated_secrets_and_names_what_failed() -> None:
    import secrets

    assert weak_secret_reason(secrets.token_urlsafe(32)) is None
    assert weak_secret_reason(secrets.token_hex(32)) is None
    assert weak_secret_reason(STRONG) is None
    assert weak_secret_reason(None) == "is missing"
    assert weak_secret_reason("a" * 32) == "has fewer than 10 distinct characters"
    assert weak_secret_reason("0123456789" * 3 + "01") == (
        "has less than 128 bits of estimated entropy"
    )
    assert weak_secret_reason(ENV_EXAMPLE_SECRET) == "is a published default or placeholder"


def test_production_accepts_a_strong_secret_or_a_public_key() -> None:
    assert Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=STRONG, _env_file=None).production
    assert Settings(PAYQL_ENV="production", PAYQL_JWT_PUBLIC_KEY=PUBLIC_KEY).production


@pytest.mark.parametrize(
    "keys",
    [
        {"PAYQL_JWT_PUBLIC_KEY": PUBLIC_KEY},  # derived from the development default
        {"PAYQL_JWT_SECRET": STRONG},  # derived from the JWT secret
        {"PAYQL_JWT_SECRET": STRONG, "PAYQL_SANDBOX_WEBHOOK_SECRET": "w" * 40},
        {"PAYQL_JWT_SECRET": STRONG, "PAYQL_SANDBOX_WEBHOOK_SECRET": STRONG},
    ],
)
def test_production_refuses_a_sandbox_without_a_strong_secret_of_its_own(
    keys: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError, match="PAYQL_SANDBOX_WEBHOOK_SECRET"):
        Settings(PAYQL_ENV="production", PAYQL_SANDBOX="true", _env_file=None, **keys)


def test_production_runs_a_sandbox_with_its_own_strong_secret() -> None:
    settings = Settings(
        PAYQL_ENV="production",
        PAYQL_JWT_PUBLIC_KEY=PUBLIC_KEY,
        PAYQL_SANDBOX="true",
        PAYQL_SANDBOX_WEBHOOK_SECRET=SANDBOX_STRONG,
        _env_file=None,
    )
    assert settings.sandbox_enabled
    assert settings.sandbox_secret == SANDBOX_STRONG


def test_a_refusal_never_quotes_the_secret() -> None:
    secret = "refused-" + "r" * 40
    with pytest.raises(ValidationError) as refused:
        Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=secret, _env_file=None)
    assert secret not in str(refused.value)
    assert secret not in refusal_text(refused.value)
    assert refusal_text(refused.value).startswith("PAYQL_JWT_SECRET has fewer than 10")


def test_development_is_the_default_and_has_a_signing_secret() -> None:
    settings = Settings(_env_file=None)
    if "PAYQL_ENV" not in os.environ:
        assert not settings.production
    assert settings.signing_secret


def _payql(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=tmp_path,  # no .env from the developer's checkout
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_to_start_in_production_without_a_secret(tmp_path: Path) -> None:
    done = _payql(tmp_path, "serve", PAYQL_ENV="production")
    assert done.returncode == 2
    assert "PAYQL_JWT_SECRET" in done.stderr
    assert "refusing to start" in done.stderr


@pytest.mark.parametrize("command", [["serve"], ["token", "--email", "a@example.com"]])
def test_serve_and_token_refuse_weak_secrets_without_printing_them(
    tmp_path: Path, command: list[str]
) -> None:
    jwt_secret = "weak-jwt-secret-" + "j" * 40
    sandbox_secret = "weak-sandbox-secret-" + "k" * 40
    env = {"PAYQL_ENV": "production", "PAYQL_SANDBOX": "true"}
    weak_jwt = _payql(tmp_path, *command, **env, PAYQL_JWT_SECRET=jwt_secret)
    weak_sandbox = _payql(
        tmp_path,
        *command,
        **env,
        PAYQL_JWT_SECRET=STRONG,
        PAYQL_SANDBOX_WEBHOOK_SECRET=sandbox_secret,
    )

    assert (weak_jwt.returncode, weak_sandbox.returncode) == (2, 2)
    assert "PAYQL_JWT_SECRET has less than 128 bits" in weak_jwt.stderr
    assert "PAYQL_SANDBOX_WEBHOOK_SECRET" in weak_sandbox.stderr
    for done in (weak_jwt, weak_sandbox):
        assert "refusing to start" in done.stderr
        output = done.stdout + done.stderr
        for secret in (jwt_secret, sandbox_secret, STRONG):
            assert secret not in output
        assert "input_value" not in output


def test_token_refuses_to_sign_when_tokens_are_rs256(tmp_path: Path) -> None:
    for env in (
        {"PAYQL_JWT_PUBLIC_KEY": PUBLIC_KEY},
        {"PAYQL_JWT_PUBLIC_KEY": PUBLIC_KEY, "PAYQL_ENV": "production"},
        {"PAYQL_JWT_PUBLIC_KEY": PUBLIC_KEY, "PAYQL_JWT_SECRET": STRONG},
    ):
        done = _payql(tmp_path, "token", "--email", "a@example.com", **env)
        assert done.returncode == 2, env
        assert done.stdout == ""
        assert "refusing to sign: PAYQL_JWT_PUBLIC_KEY is set" in done.stderr


def test_token_signs_with_the_development_default_only_in_development(tmp_path: Path) -> None:
    done = _payql(tmp_path, "token", "--email", "a@example.com")
    assert done.returncode == 0
    assert jwt.decode(done.stdout.strip(), DEV_JWT_SECRET, algorithms=["HS256"])["sub"]


def test_token_seed_and_staff_grant(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    env = {"DATABASE_URL": db, "PAYQL_JWT_SECRET": STRONG}

    assert _payql(tmp_path, "migrate", **env).returncode == 0
    assert "seeded" in _payql(tmp_path, "seed", **env).stdout
    assert "already exists" in _payql(tmp_path, "seed", **env).stdout
    customer = _payql(tmp_path, "token", "--email", "Ann@Example.com", **env)
    admin = _payql(tmp_path, "token", "--email", "root@example.com", "--admin", **env)
    staff = _payql(tmp_path, "token", "--email", "new@example.com", "--staff", "demo", **env)
    missing = _payql(tmp_path, "token", "--email", "x@example.com", "--staff", "nope", **env)

    claims = jwt.decode(customer.stdout.strip(), STRONG, algorithms=["HS256"])
    assert claims["sub"] == "Ann@Example.com"
    assert "admin" not in claims
    assert jwt.decode(admin.stdout.strip(), STRONG, algorithms=["HS256"])["admin"] is True
    assert staff.returncode == 0
    assert missing.returncode == 1
    assert "no workspace" in missing.stderr

    import sqlite3

    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        rows = conn.execute(
            'SELECT u.email, m.role FROM membership m JOIN "user" u ON u.id = m.user_id '
            "ORDER BY u.email"
        ).fetchall()
        currencies = {r[0] for r in conn.execute("SELECT currency FROM product")}
    assert rows == [("new@example.com", "STAFF"), ("staff@example.com", "STAFF")]
    assert {"USD", "JPY", "KWD"} <= currencies


def test_the_served_app_tunes_the_collector_and_freezes_its_start_up_heap() -> None:
    import gc

    from app.main import GC_THRESHOLDS, create_served_app

    before = gc.get_threshold()
    assert before != GC_THRESHOLDS
    try:
        app = create_served_app()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # the modules and the schema, out of reach
        assert app.router.routes
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
