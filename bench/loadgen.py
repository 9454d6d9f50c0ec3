"""The open-model load generator, run in its own process (``python -m bench.loadgen``).

It reads one JSON job on stdin and prints one JSON result on stdout. Request ``i`` of a
step is *scheduled* at ``t0 + i / rate`` whatever happened to the requests before it (an
open model, like real users arriving): a slow server does not slow the arrivals down.
Latency is measured from the scheduled time, not from when the request was finally
written, so time spent waiting behind a slow response counts (no coordinated omission).
A request that is due while ``max_inflight`` requests are already outstanding is not sent
and is counted as *dropped*.

Job kinds: ``graphql`` (cycle through prepared POSTs; a top-level ``errors`` is an error),
``status`` (cycle through prepared requests; any non-200 is an error), ``webhook`` (signed
sandbox webhooks, a share of them re-deliveries of earlier events) and ``write``
(``createOrder`` then ``initiatePayment`` on one connection; latency covers both).
"""

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.http import Connection, HttpError, build_request
from bench.proc import cpu_seconds, serve_job
from bench.webhooks import signed_request, succeeded_event

KEEP_ALIVE_REUSE = 2.0  # seconds an idle connection is reused for (uvicorn keeps 5)
CREATE_ORDER = (
    "mutation C($input: CreateOrderInput!) { createOrder(input: $input) "
    "{ order { id total { amount } } errors { code message } } }"
)
INITIATE_PAYMENT = (
    "mutation P($input: InitiatePaymentInput!) { initiatePayment(input: $input) "
    "{ payment { id status } errors { code message } } }"
)


class RequestFailed(Exception):
    """A response that does not count as a success (kept short: it is a counter key)."""


@dataclass
class Step:
    """What one arrival rate produced."""

    rate: float
    duration: float
    scheduled: int = 0
    dropped: int = 0
    completed_in_window: int = 0
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    receipts: Counter[str] = field(default_factory=Counter)
    max_inflight_seen: int = 0

    def summary(self, cpu_seconds: float, server_cpu_seconds: float | None) -> dict[str, Any]:
        ok = len(self.latencies)
        return {
            "offered_rps": self.rate,
            "duration_s": self.duration,
            "scheduled": self.scheduled,
            "ok": ok,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors.most_common(5)),
            "dropped": self.dropped,
            "achieved_rps": round(self.completed_in_window / self.duration, 1),
            "latency_ms": percentiles(self.latencies),
            "send_lag_ms": percentiles(self.lags),
            "max_inflight": self.max_inflight_seen,
            "loadgen_cpu": round(cpu_seconds / self.duration, 2),
            "server_cpu": (
                None if server_cpu_seconds is None else round(server_cpu_seconds / self.duration, 2)
            ),
            **({"receipts": dict(self.receipts)} if self.receipts else {}),
        }

    def passed(self) -> bool:
        return (
            self.dropped == 0
            and not self.errors
            and self.completed_in_window >= 0.9 * self.rate * self.duration
        )


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p90/p99/max in milliseconds (nearest rank)."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": rank(1.0)}


class LoadGenerator:
    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.host: str = job["host"]
        self.port: int = job["port"]
        self.kind: str = job["kind"]
        self.max_inflight: int = job.get("max_inflight", 256)
        self.timeout: float = job.get("timeout", 10.0)
        self.idle: list[Connection] = []
        self.inflight = 0
        self.counter = 0
        self.rng = random.Random(8)
        self.raw = [
            build_request(
                r["method"],
                r["path"],
                host=self.host,
                headers=r.get("headers", {}),
                body=r.get("body", "").encode(),
            )
            for r in job.get("requests", [])
        ]
        webhook = job.get("webhook") or {}
        self.fresh_payments: list[list[Any]] = list(webhook.get("payments", []))
        self.sent_events: list[bytes] = []

    # ------------------------------------------------------------------ one request
    async def _connection(self) -> Connection:
        while self.idle:
            connection = self.idle.pop()
            # uvicorn closes a keep-alive connection idle for 5 s; a request written as it
            # does would fail for the client's reason, not the server's.
            if time.monotonic() - connection.idle_since < KEEP_ALIVE_REUSE:
                return connection
            connection.close()
        return await Connection.open(self.host, self.port)

    def _release(self, connection: Connection) -> None:
        if connection.reusable:
            self.idle.append(connection)
        else:
            connection.close()

    async def _one(self, n: int, scheduled: float, measured: bool, step: Step, end: float) -> None:
        connection: Connection | None = None
        try:
            connection = await self._connection()
            if measured:
                step.lags.append(time.monotonic() - scheduled)
            await asyncio.wait_for(self._exchange(n, connection, step), self.timeout)
        except (TimeoutError, HttpError, RequestFailed) as exc:
            if connection is not None and not isinstance(exc, RequestFailed):
                connection.close()
                connection = None
            if measured:
                step.errors[_error_name(exc)] += 1
        else:
            done = time.monotonic()
            if measured:
                step.latencies.append(done - scheduled)
                if done <= end:
                    step.completed_in_window += 1
        finally:
            self.inflight -= 1
            if connection is not None:
                self._release(connection)

    async def _exchange(self, n: int, connection: Connection, step: Step) -> None:
        if self.kind == "write":
            await self._write(connection)
            return
        raw = self._webhook_request() if self.kind == "webhook" else self.raw[n % len(self.raw)]
        status, body = await connection.request(raw)
        if status != 200:
            raise RequestFailed(f"HTTP {status}")
        if self.kind == "graphql":
            _graphql_data(body)
        elif self.kind == "webhook":
            step.receipts[str(json.loads(body).get("status"))] += 1

    async def _post_graphql(
        self, connection: Connection, query: str, variables: dict[str, Any], token: str
    ) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        raw = build_request(
            "POST",
            "/graphql",
            host=self.host,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            body=body,
        )
        status, answer = await connection.request(raw)
        if status != 200:
            raise RequestFailed(f"HTTP {status}")
        return _graphql_data(answer)

    async def _write(self, connection: Connection) -> None:
        spec = self.job["write"]
        created = (
            await self._post_graphql(
                connection,
                CREATE_ORDER,
                {
                    "input": {
                        "workspaceId": spec["workspace_id"],
                        "items": [{"productId": spec["product_id"], "quantity": 1}],
                    }
                },
                spec["token"],
            )
        )["createOrder"]
        if created["errors"]:
            raise RequestFailed(f"createOrder {created['errors'][0]['code']}")
        paid = (
            await self._post_graphql(
                connection,
                INITIATE_PAYMENT,
                {
                    "input": {
                        "orderId": created["order"]["id"],
                        "gateway": "SANDBOX",
                        "paymentMethodToken": spec["payment_token"],
                    }
                },
                spec["token"],
            )
        )["initiatePayment"]
        if paid["errors"]:
            raise RequestFailed(f"initiatePayment {paid['errors'][0]['code']}")

    def _webhook_request(self) -> bytes:
        spec = self.job["webhook"]
        if self.sent_events and (
            not self.fresh_payments or self.rng.random() < spec.get("duplicates", 0.1)
        ):
            body = self.rng.choice(self.sent_events)  # the gateway delivers it again
        else:
            body = succeeded_event(*self.fresh_payments.pop())
            self.sent_events.append(body)
        return signed_request(body, secret=spec["secret"], host=self.host)

    # ------------------------------------------------------------------ steps and plans
    async def step(self, rate: float, duration: float, warmup: float) -> dict[str, Any]:
        """Offer ``rate`` requests per second for ``warmup + duration`` seconds."""
        loop = asyncio.get_running_loop()
        step = Step(rate=rate, duration=duration)
        start = time.monotonic() + 0.05
        measure_from = start + warmup
        end = measure_from + duration
        total = int((end - start) * rate)
        tasks: set[asyncio.Task[None]] = set()
        cpu_at_window = server_at_window = None
        i = 0
        while i < total:
            now = time.monotonic()
            while i < total and start + i / rate <= now:
                scheduled = start + i / rate
                measured = scheduled >= measure_from
                if measured and cpu_at_window is None:
                    cpu_at_window = time.process_time()
                    server_at_window = self._server_cpu()
                i += 1
                step.scheduled += measured
                if self.inflight >= self.max_inflight:
                    step.dropped += measured
                    continue
                self.inflight += 1
                step.max_inflight_seen = max(step.max_inflight_seen, self.inflight)
                self.counter += 1
                task = loop.create_task(self._one(self.counter, scheduled, measured, step, end))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if i < total:
                await asyncio.sleep(max(start + i / rate - time.monotonic(), 0))
        cpu = time.process_time() - (cpu_at_window or time.process_time())
        remaining = end - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        server_now = self._server_cpu()
        server_cpu = (
            None
            if server_now is None or server_at_window is None
            else server_now - server_at_window
        )
        if tasks:
            await asyncio.wait(set(tasks), timeout=self.timeout)
        return step.summary(cpu, server_cpu) | {"passed": step.passed()}

    def _server_cpu(self) -> float | None:
        """CPU seconds the server process has used, if its pid was given."""
        pid = self.job.get("server_pid")
        return None if pid is None else cpu_seconds(pid)

    async def ladder(self, plan: dict[str, Any]) -> list[dict[str, Any]]:
        """Raise the rate by ``factor`` until a step fails, then refine between the last
        passing and the failing rate. The highest passing step is the max sustained."""
        duration, warmup, pause = plan["duration"], plan["warmup"], plan.get("pause", 1.0)
        steps: list[dict[str, Any]] = []
        rate, best, failed = float(plan["start"]), 0.0, 0.0
        for _ in range(plan.get("max_steps", 8)):
            result = await self.step(rate, duration, warmup)
            steps.append(result)
            await asyncio.sleep(pause)
            if not result["passed"]:
                failed = rate
                break
            best, rate = rate, rate * plan.get("factor", 2.0)
        for _ in range(plan.get("refine", 1) if failed and best else 0):
            rate = round((best * failed) ** 0.5)
            if rate <= best * 1.05 or rate >= failed * 0.95:
                break
            result = await self.step(rate, duration, warmup)
            steps.append(result)
            await asyncio.sleep(pause)
            best, failed = (rate, failed) if result["passed"] else (best, rate)
        return steps

    async def run(self) -> dict[str, Any]:
        plan = self.job["plan"]
        result: dict[str, Any] = {"steps": [], "max": None, "fixed": None}
        if "ladder" in plan:
            result["steps"] = await self.ladder(plan["ladder"])
            passing = [s for s in result["steps"] if s["passed"]]
            result["max"] = max(passing, key=lambda s: s["achieved_rps"]) if passing else None
        if "fixed" in plan:
            fixed = plan["fixed"]
            rate = float(fixed["rate"])
            if fixed.get("at_most_half_max") and result["max"] is not None:
                rate = min(rate, max(1.0, round(result["max"]["achieved_rps"] / 2)))
            elif fixed.get("at_most_half_max") and "ladder" in plan:
                # Not even the first rung held: measure at half of it rather than at the
                # nominal rate, whose backlog the server would still be working through
                # while the next scenario runs (its requests all timed out).
                rate = min(rate, max(1.0, float(plan["ladder"]["start"]) / 2))
            result["fixed"] = await self.step(rate, fixed["duration"], fixed["warmup"])
        for connection in self.idle:
            connection.close()
        return result


def _graphql_data(body: bytes) -> dict[str, Any]:
    answer = json.loads(body)
    if answer.get("errors") or not isinstance(answer.get("data"), dict):
        errors = answer.get("errors") or [{}]
        code = (errors[0].get("extensions") or {}).get("code") or errors[0].get("message")
        raise RequestFailed(f"graphql {code}")
    data: dict[str, Any] = answer["data"]
    return data


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return str(exc)[:80] or type(exc).__name__


def main() -> None:
    serve_job(lambda job: LoadGenerator(job).run())


if __name__ == "__main__":
    main()
