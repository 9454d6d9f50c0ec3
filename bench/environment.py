"""The bench's world: a temporary database and the server processes under test.

With ``DATABASE_URL`` set to a PostgreSQL server the bench creates a fresh database
``payql_bench_<hex>`` on that server (never touching the one named in the URL) and drops
it afterwards; otherwise it uses a SQLite file in a temporary folder. ``REDIS_URL``, when
set, is handed to the server as is.
"""

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.db import dialect_of
from bench.http import Connection, HttpError, build_request
from bench.proc import tree

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JWT_SECRET = "payql-bench-jwt-secret-" + "b" * 24
WEBHOOK_SECRET = "payql-bench-sandbox-webhook-secret-" + "w" * 12


@dataclass(frozen=True)
class Stack:
    """Where the bench runs: the database URL for payql, Redis if any, and a label."""

    database_url: str
    redis_url: str | None
    label: str  # "sqlite" or "postgres"


@asynccontextmanager
async def temporary_stack(workdir: Path) -> AsyncIterator[Stack]:
    """A fresh, empty database for this run (SQLite file or PostgreSQL database)."""
    given = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL") or None
    if not given or dialect_of(given) != "postgres":
        yield Stack(f"sqlite://{workdir / 'bench.sqlite3'}", redis_url, "sqlite")
        return
    parts = urlsplit(given)
    name = f"payql_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(given)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield Stack(urlunsplit(parts._replace(path=f"/{name}")), redis_url, "postgres")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def payql_env(stack: Stack, port: int) -> dict[str, str]:
    """The environment ``payql`` runs with in the bench (development mode: the sandbox)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAYQL_", "STRIPE_", "PAYSTACK_", "FLUTTERWAVE_", "RAZORPAY_"))
    }
    env.update(
        DATABASE_URL=stack.database_url,
        PAYQL_ENV="development",
        PAYQL_JWT_SECRET=JWT_SECRET,
        PAYQL_SANDBOX_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PAYQL_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PAYQL_ACCESS_LOG="false",
        # The seeded PROCESSING payments wait for the webhook scenario on purpose; without
        # this the reconciliation job would start asking the sandbox about them mid-run.
        PAYQL_RECONCILE_AFTER="3600",
        # One writer token far past a customer's allowances: the limiter still runs (its
        # cost is measured) but never refuses.
        PAYQL_RATE_LIMIT_INITIATE_PAYMENT="1000000/minute",
        PAYQL_RATE_LIMIT_SEATS="1000000000/minute",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    if stack.redis_url:
        env["REDIS_URL"] = stack.redis_url
    return env


class ServerProcess:
    """A server under test in its own process group, with its log in a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self.port = int(argv[argv.index("--port") + 1])
        self.process: subprocess.Popen[bytes] | None = None
        # worker processes under this one (uvicorn's supervisor) when > 1
        self.workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, wait: float = 60.0) -> "ServerProcess":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220, S603 - started, then polled
                self.argv,
                env=self.env,
                cwd=self.workdir,  # no stray .env file from the caller's folder
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + wait
        request = build_request("GET", "/healthz", host="127.0.0.1", headers={})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            with suppress(HttpError):
                connection = await Connection.open("127.0.0.1", self.port)
                status, _ = await connection.request(request)
                connection.close()
                # with workers: the supervisor and every worker are up (a worker still
                # starting takes no connections from the shared socket; this only waits)
                if status == 200 and (self.workers == 1 or len(tree(self.pid)) > self.workers):
                    return self
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")

    def tail(self, size: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-size:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def payql_server(
    stack: Stack, workdir: Path, name: str = "payql", workers: int = 1
) -> ServerProcess:
    port = free_port()
    argv = [str(BIN / "payql"), "serve", "--port", str(port), "--workers", str(workers)]
    return ServerProcess(name, argv, payql_env(stack, port), workdir)


def floor_server(stack: Stack, workdir: Path) -> ServerProcess:
    port = free_port()
    env = payql_env(stack, port) | {"PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "bench.floor", "--port", str(port)]
    return ServerProcess("floor", argv, env, workdir)


def run_cli(stack: Stack, workdir: Path, *args: str) -> str:
    """Run a ``payql`` command against the bench database; its output."""
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "payql"), *args],
        env=payql_env(stack, 0),
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"payql {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout
