"""The ``payql`` command: serve, migrate, seed, token, makemigrations, export-schema.

A command that needs the database refuses, in one line and with exit status 2, when the
database has migrations still to apply (``payql migrate``) or cannot be reached.
"""

import argparse
import asyncio
import os
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tortoise import Tortoise
from tortoise.exceptions import OperationalError

from app.auth import issue_token
from app.db import apply_migrations, migration_command, tortoise_config
from app.serving import LISTEN_URL_ENV, PROBE_NONCE_ENV, bind_refusal, own_url, probe_public_url
from app.settings import Settings, weak_secret_reason

DESCRIPTION = (
    "payql: an async GraphQL payments API. Settings come from environment variables "
    "and a .env file in the current folder."
)


class NotMigrated(Exception):
    """The database lacks migrations this version of payql needs."""


class DatabaseUnreachable(Exception):
    """The database server did not answer (the reason, never the URL: it may hold a password)."""


async def pending_migrations(database_url: str) -> list[str]:
    """The migration files of the URL's chain that the database has not applied.

    :raises DatabaseUnreachable: the database server did not answer.
    """
    try:
        async with migration_command(database_url) as command:
            try:
                heads: list[str] = await command.heads()
            except OperationalError:  # no aerich table: nothing was ever applied
                heads = await command.history()
    except OSError as exc:
        raise DatabaseUnreachable(exc.strerror or type(exc).__name__) from exc
    return heads


async def _migrate(database_url: str) -> list[str]:
    try:
        return await apply_migrations(database_url)
    except OSError as exc:
        raise DatabaseUnreachable(exc.strerror or type(exc).__name__) from exc


def _require_migrated(settings: Settings) -> None:
    pending = asyncio.run(pending_migrations(settings.database_url))
    if pending:
        raise NotMigrated(len(pending))


async def _with_orm(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    if pending := await pending_migrations(settings.database_url):
        raise NotMigrated(len(pending))
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = asyncio.run(_migrate(settings.database_url))
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from app.seed import seed_demo

    created = asyncio.run(_with_orm(settings, seed_demo))
    print("seeded the demo workspace" if created else "the demo workspace already exists")
    return 0


def token_refusal(settings: Settings) -> str | None:
    """Why ``payql token`` must not sign with these settings, or None when it may."""
    if settings.jwt_public_key:
        return (
            "PAYQL_JWT_PUBLIC_KEY is set: payql accepts only RS256 tokens and holds no private "
            "key to sign them; issue tokens with your identity provider."
        )
    if settings.production and weak_secret_reason(settings.jwt_secret) is not None:
        return "PAYQL_ENV=production needs a strong PAYQL_JWT_SECRET to sign tokens."
    return None


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    if (refusal := token_refusal(settings)) is not None:
        print(f"payql: refusing to sign: {refusal}", file=sys.stderr)
        return 2
    if args.staff:
        from app.seed import ensure_staff
        from models import Workspace

        async def grant() -> bool:
            workspace = await Workspace.get_or_none(slug=args.staff)
            if workspace is None:
                return False
            await ensure_staff(args.email, workspace)
            return True

        if not asyncio.run(_with_orm(settings, grant)):
            print(f"no workspace with slug {args.staff!r}", file=sys.stderr)
            return 1
    print(issue_token(settings, email=args.email, admin=args.admin))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    # Before anything is printed or migrated: a taken port fails here, in one line.
    if (refusal := bind_refusal(args.host, args.port)) is not None:
        print(f"payql: cannot listen on {args.host}:{args.port}: {refusal}", file=sys.stderr)
        return 2
    settings = _listening_settings(args)
    if settings.production:
        _require_migrated(settings)
    else:
        _prepare_development(settings)
    nonce = secrets.token_urlsafe(16)
    os.environ[PROBE_NONCE_ENV] = nonce
    if _should_probe(settings):
        threading.Thread(
            target=probe_public_url,
            args=(settings.public_url, settings.listen_url, nonce),
            name="payql-public-url-probe",
            daemon=True,
        ).start()
    _run_uvicorn(args, settings)
    return 0


def _listening_settings(args: argparse.Namespace) -> Settings:
    """Settings as the workers will read them: this listener's address in the environment,
    which is also the public URL unless ``PAYQL_PUBLIC_URL`` is set."""
    os.environ[LISTEN_URL_ENV] = own_url(args.host, args.port)
    return Settings()


def _should_probe(settings: Settings) -> bool:
    explicit = "public_url" in settings.model_fields_set
    same = settings.public_url.rstrip("/") == settings.listen_url
    return settings.dev_defaults and settings.public_url_probe and explicit and not same


def _prepare_development(settings: Settings) -> None:
    """Embedded default: bring the database up to date, seed it when empty, print tokens."""
    from app.seed import DEMO_CUSTOMER, DEMO_SLUG, DEMO_STAFF, seed_demo

    asyncio.run(_migrate(settings.database_url))
    asyncio.run(_with_orm(settings, seed_demo))
    url = f"{settings.listen_url}/graphql"
    print(f"\npayql (development) on {url}  — GraphiQL: open it in a browser\n")
    if (refusal := token_refusal(settings)) is not None:
        print(f"no demo tokens: {refusal}\n", flush=True)
        return
    customer = issue_token(settings, email=DEMO_CUSTOMER)
    print(f"customer token ({DEMO_CUSTOMER}):\n  {customer}")
    print(f"staff token ({DEMO_STAFF}, workspace '{DEMO_SLUG}'):")
    print(f"  {issue_token(settings, email=DEMO_STAFF)}")
    print('\nIn GraphiQL set the header {"Authorization": "Bearer <token>"}.\n', flush=True)


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from app.logs import uvicorn_log_config
    from app.metrics import prepare_multiprocess_dir

    # The metrics directory must exist (and be empty) before the workers start: each worker
    # writes its samples there and /metrics sums them.
    prepare_multiprocess_dir(args.workers)
    uvicorn.run(
        "app.serving:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        ws="websockets-sansio",
        # Off by default: payql's frames are a few hundred bytes, and a compressor per open
        # websocket costs more memory than they save (bench/README.md, scenario g).
        ws_per_message_deflate=settings.ws_deflate,
        # A frame is a GraphQL request: the same bound as an HTTP body.
        ws_max_size=settings.max_body_bytes,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        http="app.connections:HeaderTimeoutProtocol",  # closes slow or silent connections
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        proxy_headers=True,
        log_level="info",
        log_config=uvicorn_log_config(settings.log_format),
        access_log=settings.access_log,
    )


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema import schema

    Path(args.output).write_text(schema.as_str() + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def cmd_makemigrations(args: argparse.Namespace, settings: Settings) -> int:
    from app.migration_tools import make_migrations

    # aerich keeps dialect state on classes: one dialect per process (see `make migrations`).
    location = Path(args.location) if args.location else None
    written = asyncio.run(make_migrations(args.dialect, args.name, args.postgres_url, location))
    print(f"{args.dialect}: {written or 'no changes'}")
    return 0


def _version() -> str:
    try:
        return version("payql")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _subcommand(
    sub: Any, name: str, summary: str, run: Callable[[argparse.Namespace, Settings], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
    )
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payql", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"payql {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _subcommand(
        sub, "serve", "serve the API (in development: migrate, seed, print tokens)", cmd_serve
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on, and the public URL's unless PAYQL_PUBLIC_URL is set"
        " (default: %(default)s)",
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )

    _subcommand(sub, "migrate", "apply pending migrations", cmd_migrate)
    _subcommand(sub, "seed", "create the demo workspace", cmd_seed)

    token = _subcommand(sub, "token", "print a signed JWT", cmd_token)
    token.add_argument("--email", required=True, help="the user's email (the token's subject)")
    token.add_argument("--staff", metavar="SLUG", help="also make the user staff of SLUG")
    token.add_argument("--admin", action="store_true", help="an admin sees every workspace")

    export = _subcommand(sub, "export-schema", "write the GraphQL SDL", cmd_export_schema)
    export.add_argument(
        "--output", default="schema.graphql", help="file to write (default: %(default)s)"
    )

    make = _subcommand(
        sub, "makemigrations", "generate a migration for each dialect chain", cmd_makemigrations
    )
    make.add_argument(
        "--name", default="update", help="the migration's name (default: %(default)s)"
    )
    make.add_argument(
        "--dialect", choices=["sqlite", "postgres"], required=True, help="chain to extend"
    )
    make.add_argument(
        "--postgres-url",
        default="postgres://postgres@127.0.0.1:5432/",
        help="server for the postgres chain's scratch database (default: %(default)s)",
    )
    make.add_argument("--location", help="chain folder, instead of migrations/<dialect>")
    return parser


def refusal_text(exc: ValidationError) -> str:
    """Each problem's setting and message, never the value given (it may be a secret)."""
    lines = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}: {message}" if where else message)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:  # InsecureSettings arrive wrapped in it
        print(f"payql: refusing to start: {refusal_text(exc)}", file=sys.stderr)
        return 2
    try:
        code: int = args.run(args, settings)
    except NotMigrated as exc:
        print(
            f"payql: the database has {exc} migration(s) to apply: run `payql migrate` first",
            file=sys.stderr,
        )
        return 2
    except DatabaseUnreachable as exc:
        print(f"payql: cannot reach the database: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
