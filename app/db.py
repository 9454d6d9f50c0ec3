"""Database wiring: the Tortoise config and the aerich migration chain for each dialect.

aerich writes raw SQL of the dialect it ran on, so ``migrations/sqlite`` and
``migrations/postgres`` are separate chains; :func:`migration_location` picks one by
``DATABASE_URL``.
"""

from pathlib import Path
from typing import Any

from aerich import Command
from tortoise.backends.base.config_generator import expand_db_url

MODEL_MODULES = ["models", "models.sandbox", "aerich.models"]
APP_LABEL = "models"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


async def keep_session(connection: Any) -> None:
    """asyncpg's pool ``reset``: nothing beyond what asyncpg always does.

    By default asyncpg sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` each time a connection goes back to the pool, and Tortoise takes a pool
    connection for every statement outside a transaction: one extra round trip per
    statement (a visible share of the write path's CPU, ``bench/README.md``). payql leaves
    no session state on a connection: no ``LISTEN`` (Redis carries events), no advisory
    locks, no ``SET`` (settings go in ``server_settings`` at connect), no cursors outside
    a transaction. An open transaction is still rolled back on release: asyncpg does that
    before calling this. Code that starts using session state must reset it itself.
    """


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config dict for ``database_url`` (UTC, timezone-aware datetimes)."""
    connection: str | dict[str, Any] = database_url
    if dialect_of(database_url) == "postgres":
        expanded = expand_db_url(database_url)
        if expanded["engine"] == "tortoise.backends.asyncpg":
            expanded["credentials"]["reset"] = keep_session
            connection = expanded
    return {
        "connections": {"default": connection},
        "apps": {APP_LABEL: {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect_of(database_url: str) -> str:
    scheme = database_url.split(":", 1)[0].lower()
    return "postgres" if scheme.startswith(("postgres", "asyncpg", "psycopg")) else scheme


def migration_location(database_url: str) -> Path:
    """The migration chain for the URL's dialect."""
    dialect = dialect_of(database_url)
    if dialect not in ("sqlite", "postgres"):
        raise ValueError(f"no migration chain for dialect {dialect!r}")
    return MIGRATIONS_DIR / dialect


def migration_command(database_url: str) -> Command:
    return Command(
        tortoise_config=tortoise_config(database_url),
        app=APP_LABEL,
        location=str(migration_location(database_url)),
    )


async def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration of the URL's chain; return the files applied."""
    async with migration_command(database_url) as command:
        applied: list[str] = await command.upgrade(run_in_transaction=True)
    return applied
