"""Generate aerich migrations for both dialect chains (developer tool, ``make migrations``).

Each chain is generated against a scratch database of its dialect: a temporary SQLite file,
or a throwaway PostgreSQL database that is dropped afterwards.
"""

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from aerich import Command

from app.db import APP_LABEL, MIGRATIONS_DIR, tortoise_config


@asynccontextmanager
async def scratch_database(dialect: str, postgres_url: str) -> AsyncIterator[str]:
    """A URL to an empty database of ``dialect``, removed on exit."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite://{Path(folder) / 'scratch.sqlite3'}"
        return
    name = f"payql_scratch_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_url.rstrip("/") + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield postgres_url.rstrip("/") + f"/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def make_migrations(
    dialect: str, name: str, postgres_url: str, location: Path | None = None
) -> str | None:
    """Write the next migration of ``dialect``'s chain; None when the models did not change."""
    chain = location or MIGRATIONS_DIR / dialect
    async with scratch_database(dialect, postgres_url) as url:
        command = Command(tortoise_config(url), app=APP_LABEL, location=str(chain))
        if not any((chain / APP_LABEL).glob("*.py")):
            await command.init_db(safe=True)
            await Command.aclose()
            return "initial migration"
        async with command:
            await command.upgrade(run_in_transaction=True)
            await command.init()  # re-read the last applied state now that the chain is in
            written: str = await command.migrate(name=name, no_input=True)
        return written or None
