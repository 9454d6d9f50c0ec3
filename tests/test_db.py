"""The database wiring: what ``tortoise_config`` asks of the driver."""

from tortoise.backends.asyncpg.client import AsyncpgDBClient

from app.db import keep_session, tortoise_config


def test_only_asyncpg_connections_get_the_reset() -> None:
    sqlite = tortoise_config("sqlite:///tmp/x.sqlite3")["connections"]["default"]
    assert sqlite == "sqlite:///tmp/x.sqlite3"
    pg = tortoise_config("postgres://postgres@db:5432/shop?maxsize=9")["connections"]["default"]
    assert pg["engine"] == "tortoise.backends.asyncpg"
    assert pg["credentials"]["reset"] is keep_session
    assert pg["credentials"]["maxsize"] == "9"  # the URL's own options are kept
    psycopg = tortoise_config("psycopg://postgres@db:5432/shop")["connections"]["default"]
    assert psycopg == "psycopg://postgres@db:5432/shop"


async def test_a_connection_back_from_the_pool_is_not_reset(require_postgres_url: str) -> None:
    """The reset round trip is gone: session state set outside a transaction survives the
    connection's return to the pool (asyncpg's default reset would undo it)."""
    config = tortoise_config(f"{require_postgres_url.rstrip('/')}/postgres?maxsize=1&minsize=1")
    credentials = config["connections"]["default"]["credentials"]
    client = AsyncpgDBClient(connection_name="probe", **credentials)
    await client.create_connection(with_db=True)
    try:
        await client.execute_script("SET application_name = 'payql-probe'")
        _, rows = await client.execute_query("SHOW application_name")
        assert rows[0]["application_name"] == "payql-probe"
    finally:
        await client.close()
