"""The floor: the bare stack payql is built on, reading the same order row.

``GET /tortoise/{id}`` reads it through Tortoise (as payql's models do) and
``GET /driver/{id}`` through the database driver directly (aiosqlite or asyncpg), both
as plain Starlette endpoints served by uvicorn with payql's server settings. No GraphQL,
no auth, no middleware: what payql adds on top is the difference.

    python -m bench.floor --port 8765   (DATABASE_URL from the environment)
"""

import argparse
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import aiosqlite
import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from app.db import dialect_of, tortoise_config
from models import Order

COLUMNS = "id, number, status, currency, total, created_at"
Fetch = Callable[[str], Awaitable[dict[str, Any] | None]]


def _order_json(row: dict[str, Any]) -> dict[str, Any]:
    created = row["created_at"]
    return {
        "id": str(row["id"]),
        "number": row["number"],
        "status": str(row["status"]),
        "total": {"amount": row["total"], "currency": row["currency"]},
        "createdAt": created.isoformat() if isinstance(created, datetime) else created,
    }


async def tortoise_order(request: Request) -> JSONResponse:
    order = await Order.get_or_none(id=UUID(request.path_params["id"]))
    if order is None:
        return JSONResponse({"data": {"order": None}})
    row = {name.strip(): getattr(order, name.strip()) for name in COLUMNS.split(",")}
    return JSONResponse({"data": {"order": _order_json(row)}})


async def driver_order(request: Request) -> JSONResponse:
    fetch: Fetch = request.app.state.fetch
    row = await fetch(request.path_params["id"])
    return JSONResponse({"data": {"order": _order_json(row) if row else None}})


@asynccontextmanager
async def _sqlite_fetch(path: str) -> AsyncIterator[Fetch]:
    async with aiosqlite.connect(path) as connection:
        connection.row_factory = aiosqlite.Row
        sql = f'SELECT {COLUMNS} FROM "order" WHERE id = ?'  # noqa: S608 - constant columns

        async def fetch(order_id: str) -> dict[str, Any] | None:
            async with connection.execute(sql, (order_id,)) as cursor:
                row = await cursor.fetchone()
            return dict(row) if row is not None else None

        yield fetch


@asynccontextmanager
async def _postgres_fetch(url: str) -> AsyncIterator[Fetch]:
    # Tortoise's asyncpg client also pools (1 to 5 connections by default).
    pool = await asyncpg.create_pool(url, min_size=1, max_size=5)
    sql = f'SELECT {COLUMNS} FROM "order" WHERE id = $1'  # noqa: S608 - constant columns

    async def fetch(order_id: str) -> dict[str, Any] | None:
        row = await pool.fetchrow(sql, UUID(order_id))
        return dict(row) if row is not None else None

    try:
        yield fetch
    finally:
        await pool.close()


def create_app(database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        direct = (
            _postgres_fetch(database_url)
            if dialect_of(database_url) == "postgres"
            else _sqlite_fetch(database_url.split("://", 1)[1])
        )
        # Tortoise wired exactly as payql's app does (a global context for request tasks).
        async with RegisterTortoise(app, config=tortoise_config(database_url)), direct as fetch:
            app.state.fetch = fetch
            yield

    return Starlette(
        routes=[
            Route("/tortoise/{id}", tortoise_order),
            Route("/driver/{id}", driver_order),
            Route("/healthz", lambda request: JSONResponse({"status": "ok"})),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(os.environ["DATABASE_URL"])
    # The same server settings as ``payql serve`` (uvloop, httptools), quiet.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
