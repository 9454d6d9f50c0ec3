"""Settings safety and the payql command line."""

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from app.settings import DEV_JWT_SECRET, Settings
from tests.conftest import ROOT

STRONG = "s" * 48


@pytest.mark.parametrize("secret", [None, DEV_JWT_SECRET, "short-secret"])
def test_production_refuses_a_missing_default_or_short_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="refusing to start"):
        Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=secret, _env_file=None)


def test_production_accepts_a_strong_secret_or_a_public_key() -> None:
    assert Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=STRONG).production
    assert Settings(PAYQL_ENV="production", PAYQL_JWT_PUBLIC_KEY="-----BEGIN…").production


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
