"""SQL statements behind one ``orders`` page, counted in-process (as
``tests/test_query_count.py`` does): the app runs in this process over the bench database
through httpx's ASGI transport, and every statement the default connection executes is
recorded."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from tortoise import connections

from app.auth import issue_token
from app.main import create_app
from app.settings import Settings
from bench.scenarios import ORDERS


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Record every statement the default connection runs (restored afterwards)."""
    seen: list[str] = []
    client = type(connections.get("default"))
    originals = {name: getattr(client, name) for name in ("execute_query", "execute_query_dict")}
    for name, original in originals.items():

        async def wrapper(self: Any, query: str, *args: Any, _o: Any = original) -> Any:
            seen.append(query)
            return await _o(self, query, *args)

        setattr(client, name, wrapper)
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(client, name, original)


async def queries_per_page(settings: Settings, email: str, sizes: list[int]) -> dict[int, int]:
    """{page size: statements} for ``orders(first: size)`` as ``email`` (the ORM is up)."""
    app = create_app(settings, manage_database=False, run_jobs=False)
    token = issue_token(settings, email=email)
    counts: dict[int, int] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        for size in sizes:
            with counted_queries() as seen:
                response = await http.post(
                    "/graphql",
                    json={"query": ORDERS, "variables": {"first": size}},
                    headers={"Authorization": f"Bearer {token}"},
                )
            body = response.json()
            if body.get("errors") or len(body["data"]["orders"]["edges"]) != size:
                raise RuntimeError(f"orders(first: {size}) failed: {str(body)[:300]}")
            counts[size] = len(seen)
    return counts
