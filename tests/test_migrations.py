"""Each dialect's migration chain builds exactly the schema the models describe.

``payql migrate`` runs on an empty database; a second empty database gets the schema that
Tortoise generates from the models; the two are introspected and compared (tables,
columns, types, nullability, indexes, foreign keys). aerich must also see no pending change.
"""

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from app.migration_tools import scratch_database
from tests.conftest import ROOT

GENERATE = """
import asyncio, sys
from tortoise import Tortoise
from app.db import tortoise_config
async def main():
    await Tortoise.init(config=tortoise_config(sys.argv[1]))
    await Tortoise.generate_schemas(safe=False)
    await Tortoise.close_connections()
asyncio.run(main())
"""


def _run(*args: str, url: str | None = None) -> str:
    env = {"PATH": "/usr/bin:/bin", "PAYQL_ENV": "development"}
    if url:
        env["DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _chain_length(dialect: str) -> int:
    return len(list((ROOT / "migrations" / dialect / "models").glob("[0-9]*_*.py")))


def _migrate(url: str) -> str:
    return _run("-m", "app.cli", "migrate", url=url)


def _generate(url: str) -> None:
    _run("-c", GENERATE, url)


def _sqlite_shape(path: str) -> dict[str, Any]:
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        shape: dict[str, Any] = {}
        for table in sorted(t for t in tables if t != "aerich"):
            shape[table] = {
                # Name, type, NOT NULL and primary key, as on PostgreSQL. Not the position
                # (ALTER TABLE ADD appends) nor the default: adding a NOT NULL column to a
                # table with rows needs a DEFAULT, which SQLite cannot drop afterwards, and
                # Tortoise writes every default itself.
                "columns": sorted(
                    (name, kind, notnull, pk)
                    for _, name, kind, notnull, _, pk in conn.execute(
                        f'PRAGMA table_info("{table}")'
                    )
                ),
                "indexes": sorted(
                    (unique, tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{name}")')))
                    for _, name, unique, *_ in conn.execute(f'PRAGMA index_list("{table}")')
                ),
                "fks": sorted(
                    row[2:5] for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')
                ),
            }
        return shape


async def _postgres_shape(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, character_maximum_length "
            "FROM information_schema.columns "
            "WHERE table_schema='public' AND table_name <> 'aerich' "
            "ORDER BY 1, 2"
        )
        indexes = await conn.fetch(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname='public' AND tablename <> 'aerich' ORDER BY 1, 2"
        )
        constraints = await conn.fetch(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace='public'::regnamespace "
            "AND conrelid::regclass::text <> 'aerich' ORDER BY 1, 2"
        )
    finally:
        await conn.close()
    return {
        "columns": [tuple(r) for r in columns],
        "indexes": [tuple(r) for r in indexes],
        "constraints": [tuple(r) for r in constraints],
    }


def _no_pending_change(dialect: str, tmp_path: Path, postgres_url: str) -> None:
    chain = tmp_path / "chain"
    shutil.copytree(ROOT / "migrations" / dialect, chain)
    before = sorted(p.name for p in (chain / "models").glob("*.py"))
    out = _run(
        "-m",
        "app.cli",
        "makemigrations",
        "--dialect",
        dialect,
        "--name",
        "check",
        "--location",
        str(chain),
        "--postgres-url",
        postgres_url,
    )
    assert out.strip() == f"{dialect}: no changes"
    assert sorted(p.name for p in (chain / "models").glob("*.py")) == before


async def test_sqlite_chain_matches_the_models(tmp_path: Path) -> None:
    migrated, generated = tmp_path / "migrated.sqlite3", tmp_path / "generated.sqlite3"

    applied = _migrate(f"sqlite://{migrated}")
    again = _migrate(f"sqlite://{migrated}")
    _generate(f"sqlite://{generated}")

    assert f"applied {_chain_length('sqlite')} migration" in applied
    assert "applied 0 migration" in again
    assert _sqlite_shape(str(migrated)) == _sqlite_shape(str(generated))
    assert "order" in _sqlite_shape(str(migrated))
    _no_pending_change("sqlite", tmp_path, "postgres://unused/")


async def test_postgres_chain_matches_the_models(tmp_path: Path, require_postgres_url: str) -> None:
    async with (
        scratch_database("postgres", require_postgres_url) as migrated,
        scratch_database("postgres", require_postgres_url) as generated,
    ):
        assert f"applied {_chain_length('postgres')} migration" in _migrate(migrated)
        _generate(generated)
        migrated_shape = await _postgres_shape(migrated)
        assert migrated_shape == await _postgres_shape(generated)
        assert any(c[0] == "order" for c in migrated_shape["columns"])
    _no_pending_change("postgres", tmp_path, require_postgres_url)
