"""``python -m bench`` (``make bench``): set up, run every scenario, print and save results.

    temporary database ─► payql migrate + payql seed ─► bench rows ─► SQL count per page
        ─► floor server: (a)            ─► payql serve: (b) (c) (e) (d)
        ─► a fresh payql serve: (f) (g) ─► table + bench/results/<date>-<db>.json

Servers and load generators are separate processes; only one server runs at a time.
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from app.auth import issue_token
from app.db import tortoise_config
from app.settings import Settings
from bench import report
from bench.environment import (
    JWT_SECRET,
    REPO,
    WEBHOOK_SECRET,
    ServerProcess,
    Stack,
    floor_server,
    payql_server,
    run_cli,
    temporary_stack,
)
from bench.http import Connection, build_request
from bench.proc import run_loop
from bench.querycount import queries_per_page
from bench.scenarios import (
    ORDER,
    Scenario,
    Timing,
    floor_scenarios,
    graphql_post,
    payql_scenarios,
    run_process,
)
from bench.seed import BUYER, STAFF, WRITER, BenchData, seed_bench

RESULTS = REPO / "bench" / "results"
WEBHOOK_PAYMENTS = 8000  # enough fresh PROCESSING payments for the webhook ladder
FANOUT_PAYMENTS = 20  # probe + webhooks per fan-out step
FANOUT_COUNTS = [5000, 1000]  # the first step runs on a fresh server: its memory is clean


class Bench:
    def __init__(
        self,
        *,
        timing: Timing,
        only: set[str] | None,
        fanout_counts: list[int],
        workers: int = 1,
    ) -> None:
        self.timing = timing
        self.workers = workers
        self.only = only
        self.fanout_counts = fanout_counts
        self.started = time.monotonic()
        self.token_settings = Settings(PAYQL_JWT_SECRET=JWT_SECRET)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def wanted(self, key: str) -> bool:
        return self.only is None or key in self.only or key.split("_")[0] in self.only

    def token(self, email: str) -> str:
        return issue_token(self.token_settings, email=email)

    async def prepare(self, stack: Stack, workdir: Path) -> tuple[BenchData, dict[int, int]]:
        self.say(f"database: {stack.label} (fresh); payql migrate + payql seed")
        await asyncio.to_thread(run_cli, stack, workdir, "migrate")
        await asyncio.to_thread(run_cli, stack, workdir, "seed")
        await Tortoise.init(config=tortoise_config(stack.database_url))
        try:
            data = await seed_bench(waiting=WEBHOOK_PAYMENTS + FANOUT_PAYMENTS)
            settings = Settings(
                DATABASE_URL=stack.database_url,
                PAYQL_JWT_SECRET=JWT_SECRET,
                PAYQL_ENV="development",
            )
            queries = await queries_per_page(settings, BUYER, [10, 50, 100])
        finally:
            await Tortoise.close_connections()
        self.say(f"seeded bench rows; SQL statements per orders page: {queries}")
        return data, queries

    async def scenario(self, server: ServerProcess, scenario: Scenario) -> dict[str, Any]:
        self.say(f"{scenario.title}: ladder from {scenario.start:g}/s …")
        result = await run_process(
            "bench.loadgen", scenario.job(server.port, server.pid, self.timing)
        )
        best, fixed = result["max"], result["fixed"]
        self.say(
            f"  max {best['achieved_rps'] if best else '–'}/s; at {fixed['offered_rps']:g}/s "
            f"p50 {fixed['latency_ms']['p50']} p99 {fixed['latency_ms']['p99']} ms, "
            f"dropped {fixed['dropped']}, errors {fixed['errors']} {fixed['error_kinds'] or ''}"
        )
        return {"title": scenario.title, "kind": scenario.kind, **result}

    async def with_server(self, server: ServerProcess, work: Callable[[ServerProcess], Any]) -> Any:
        await server.start()
        self.say(f"{server.name} up on :{server.port} (pid {server.pid})")
        try:
            return await work(server)
        finally:
            server.stop()

    async def run(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="payql-bench-") as tmp:
            workdir = Path(tmp)
            async with temporary_stack(workdir) as stack:
                return await self._run(stack, workdir)

    async def _run(self, stack: Stack, workdir: Path) -> dict[str, Any]:
        if self.workers > 1 and not (stack.label == "postgres" and stack.redis_url):
            # SQLite takes one writer at a time, and without Redis a worker's events never
            # reach the subscribers held by the others
            raise SystemExit("--workers > 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        data, queries = await self.prepare(stack, workdir)
        results: dict[str, Any] = {
            "date": datetime.now(UTC).date().isoformat(),
            "stack": stack.label,
            "redis": bool(stack.redis_url),
            "workers": self.workers,
            "machine": machine(),
            "commit": commit(),
            "timing": self.timing.__dict__,
            "queries_per_orders_page": queries,
            "scenarios": {},
        }
        waiting = data.waiting_payments
        fanout_payments, webhook_payments = waiting[:FANOUT_PAYMENTS], waiting[FANOUT_PAYMENTS:]

        floors = [s for s in floor_scenarios(data.read_order_ids) if self.wanted(s.key)]
        if floors:

            async def floor_work(server: ServerProcess) -> None:
                for scenario in floors:
                    results["scenarios"][scenario.key] = await self.scenario(server, scenario)

            await self.with_server(floor_server(stack, workdir), floor_work)

        payql = payql_scenarios(
            buyer_token=self.token(BUYER),
            writer_token=self.token(WRITER),
            order_ids=data.read_order_ids,
            data={
                "webhook": {
                    "secret": WEBHOOK_SECRET,
                    "payments": webhook_payments,
                    "duplicates": 0.1,
                },
                "write": {
                    "workspace_id": data.workspace_id,
                    "product_id": data.product_id,
                    "payment_token": "pm_card_visa",
                },
            },
        )
        payql = [s for s in payql if self.wanted(s.key)]
        if payql:

            async def payql_work(server: ServerProcess) -> None:
                await check_order_query(server, self.token(BUYER), data.read_order_ids[0])
                for scenario in payql:
                    results["scenarios"][scenario.key] = await self.scenario(server, scenario)

            await self.with_server(payql_server(stack, workdir, workers=self.workers), payql_work)

        if self.wanted("fanout") and self.fanout_counts:

            async def fanout_work(server: ServerProcess) -> dict[str, Any]:
                self.say(f"(f)(g) fan-out to {self.fanout_counts} workspaceEvents subscribers …")
                job = {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "server_pid": server.pid,
                    "token": self.token(STAFF),
                    "workspace_id": data.workspace_id,
                    "secret": WEBHOOK_SECRET,
                    "payments": fanout_payments,
                    "counts": self.fanout_counts,
                    "webhooks": 5,
                }
                return await run_process("bench.fanout", job)

            results["fanout"] = await self.with_server(
                payql_server(stack, workdir, name="payql-fanout", workers=self.workers),
                fanout_work,
            )
        results["targets"] = report.targets(results)
        results["elapsed_s"] = round(time.monotonic() - self.started)
        return results


async def check_order_query(server: ServerProcess, token: str, order_id: str) -> None:
    """One order(id) answered with the order itself, before load: a null would be fast."""
    spec = graphql_post(ORDER, {"id": order_id}, token)
    raw = build_request(
        "POST", "/graphql", host="127.0.0.1", headers=spec["headers"], body=spec["body"].encode()
    )
    connection = await Connection.open("127.0.0.1", server.port)
    status, body = await connection.request(raw)
    connection.close()
    answer = json.loads(body)
    if status != 200 or (answer.get("data") or {}).get("order", {}).get("id") != order_id:
        raise RuntimeError(f"order(id) does not answer the seeded order: {body[:300]!r}")


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"


def commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short steps (a smoke run)")
    parser.add_argument(
        "--only",
        help="comma-separated scenario keys: floor, order, orders, webhooks, write, fanout",
    )
    parser.add_argument(
        "--fanout", default=",".join(map(str, FANOUT_COUNTS)), help="subscriber counts"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="payql serve --workers N (PostgreSQL + Redis only); CPU and memory then sum the "
        "supervisor and its workers",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI's check that every scenario still runs: --quick, 200 subscribers, nothing "
        "saved; exit 1 if a scenario answered nothing or wrongly, or fan-out lost frames",
    )
    parser.add_argument(
        "--out", type=Path, help="write the results here (default bench/results/<date>-<db>.json)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.quick, args.no_save, args.fanout = True, True, "200"
    bench = Bench(
        timing=Timing.quick() if args.quick else Timing(),
        only=set(args.only.split(",")) if args.only else None,
        fanout_counts=[int(n) for n in args.fanout.split(",") if n],
        workers=args.workers,
    )
    results = run_loop(bench.run())
    table = report.render(results)
    print("\n" + table + "\n", flush=True)
    if not args.no_save:
        workers = f"-{args.workers}workers" if args.workers > 1 else ""
        path = args.out or RESULTS / f"{results['date']}-{results['stack']}{workers}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results | {"table": table}, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    problems = smoke_problems(results) if args.smoke else []
    for problem in problems:
        print(f"smoke: {problem}", file=sys.stderr)
    return 1 if problems else 0


# Answers that say the server is wrong, not slow: a client error, an internal error, a
# GraphQL error. Timeouts, drops, 503s and dropped connections say the machine was busy.
BROKEN = ("HTTP 4", "HTTP 500", "createOrder ", "initiatePayment ", "graphql ")


def smoke_problems(results: dict[str, Any]) -> list[str]:
    """What says a scenario no longer works (never how fast it is): no request answered
    successfully, an answer that says the server is wrong (``BROKEN``), or a fan-out step
    that did not connect everyone or lost frames. Slowness passes."""
    problems: list[str] = []
    for key, scenario in results["scenarios"].items():
        steps = [*scenario["steps"], *([scenario["fixed"]] if scenario.get("fixed") else [])]
        if not any(step["ok"] > 0 for step in steps):
            problems.append(f"{key}: no request succeeded")
        kinds = {kind for step in steps for kind in step.get("error_kinds", {})}
        failures = {kind for kind in kinds if kind.startswith(BROKEN)}
        if failures:
            problems.append(f"{key}: failures {sorted(failures)}")
    for step in results.get("fanout", {}).get("steps", []):
        if step["connected"] != step["subscribers"] or step["frames_lost"] or step["errors"]:
            problems.append(
                f"fan-out to {step['subscribers']}: {step['connected']} connected, "
                f"{step['frames_lost']} frames lost, errors {step['errors']}"
            )
    return problems


if __name__ == "__main__":
    sys.exit(main())
