"""The ``payql`` command: serve, migrate, seed, token, makemigrations, export-schema."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tortoise import Tortoise

from app.auth import issue_token
from app.db import apply_migrations, tortoise_config
from app.settings import Settings, weak_secret_reason


async def _with_orm(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = asyncio.run(apply_migrations(settings.database_url))
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
    import uvicorn

    if not settings.production:
        # Embedded default: bring the database up to date and seed it when empty.
        from app.seed import DEMO_CUSTOMER, DEMO_SLUG, DEMO_STAFF, seed_demo

        asyncio.run(apply_migrations(settings.database_url))
        asyncio.run(_with_orm(settings, seed_demo))
        url = f"http://{args.host}:{args.port}/graphql"
        print(f"\npayql (development) on {url}  — GraphiQL: open it in a browser\n")
        if (refusal := token_refusal(settings)) is not None:
            print(f"no demo tokens: {refusal}\n", flush=True)
        else:
            customer = issue_token(settings, email=DEMO_CUSTOMER)
            print(f"customer token ({DEMO_CUSTOMER}):\n  {customer}")
            print(f"staff token ({DEMO_STAFF}, workspace '{DEMO_SLUG}'):")
            print(f"  {issue_token(settings, email=DEMO_STAFF)}")
            print('\nIn GraphiQL set the header {"Authorization": "Bearer <token>"}.\n', flush=True)
    uvicorn.run(
        "app.main:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        ws="websockets-sansio",
        # Off by default: payql's frames are a few hundred bytes, and a compressor costs
        # about 45 KiB per open websocket (bench/README.md, scenario g).
        ws_per_message_deflate=settings.ws_deflate,
        # A frame is a GraphQL request: the same bound as an HTTP body.
        ws_max_size=settings.max_body_bytes,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        http="app.connections:HeaderTimeoutProtocol",  # closes slow or silent connections
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        proxy_headers=True,
        log_level="info",
        access_log=settings.access_log,
    )
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payql", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API (development: migrate + seed first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(run=cmd_migrate)
    sub.add_parser("seed", help="create the demo workspace").set_defaults(run=cmd_seed)

    token = sub.add_parser("token", help="print a signed JWT")
    token.add_argument("--email", required=True)
    token.add_argument("--staff", metavar="SLUG", help="also make the user staff of SLUG")
    token.add_argument("--admin", action="store_true", help="an admin sees every workspace")
    token.set_defaults(run=cmd_token)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql")
    export.set_defaults(run=cmd_export_schema)

    make = sub.add_parser("makemigrations", help="generate a migration for each dialect chain")
    make.add_argument("--name", default="update")
    make.add_argument("--dialect", choices=["sqlite", "postgres"], required=True)
    make.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/")
    make.add_argument("--location", help="chain folder (default: migrations/<dialect>)")
    make.set_defaults(run=cmd_makemigrations)
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
    code: int = args.run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
