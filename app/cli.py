"""The ``payql`` command: serve, migrate, seed, token, makemigrations, export-schema."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from app.auth import issue_token
from app.db import apply_migrations, tortoise_config
from app.settings import Settings


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


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
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
        print(f"customer token ({DEMO_CUSTOMER}):\n  {issue_token(settings, email=DEMO_CUSTOMER)}")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:  # InsecureSettings and pydantic's ValidationError
        print(f"payql: refusing to start: {exc}", file=sys.stderr)
        return 2
    code: int = args.run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
