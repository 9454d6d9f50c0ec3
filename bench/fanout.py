"""Subscription fan-out and idle memory, run in its own process (``python -m bench.fanout``).

For each subscriber count it opens that many websockets to ``payql serve``, one
``workspaceEvents`` subscription each (a staff dashboard per connection), waits until the
server is idle and reads the server's RSS from ``/proc`` (memory per idle subscription),
sends one probe webhook (every subscription is live once it sees it), then sends signed
``payment.succeeded`` webhooks one at a time. Each frame's latency runs from the moment
the webhook was sent to the moment the frame's bytes reached its client; a frame some
subscriber should have had (as many as the subscriber that got the most) and did not get
within the wait is *lost*.

Reads one JSON job on stdin, prints one JSON result.
"""

import asyncio
import gc
import time
from collections import Counter
from typing import Any

from bench.http import Connection
from bench.loadgen import percentiles
from bench.proc import cpu_seconds, rss_bytes, serve_job
from bench.webhooks import signed_request, succeeded_event
from bench.wsclient import Subscriber, connect

WORKSPACE_EVENTS = (
    "subscription W($ws: ID!) { workspaceEvents(workspaceId: $ws) "
    "{ id type paymentId fromStatus toStatus } }"
)
CONNECT_CONCURRENCY = 100


async def wait_idle(
    pid: int, *, below: float = 0.03, window: float = 0.5, limit: float = 60
) -> float:
    """Wait until the server uses less than ``below`` of a core over ``window`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pid)
        await asyncio.sleep(window)
        if (cpu_seconds(pid) - before) / window < below:
            break
    return time.monotonic() - started


class FanOut:
    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.host: str = job["host"]
        self.port: int = job["port"]
        self.pid: int = job["server_pid"]
        self.payments: list[list[Any]] = list(job["payments"])

    async def send_webhook(self) -> tuple[str, float]:
        """Succeed the next seeded payment by a signed webhook; (payment id, sent at)."""
        payment = self.payments.pop()
        body = succeeded_event(*payment)
        raw = signed_request(body, secret=self.job["secret"], host=self.host)
        # A new connection each time: uvicorn closes idle keep-alive connections after 5 s.
        connection = await Connection.open(self.host, self.port)
        sent_at = time.monotonic()
        try:
            status, answer = await connection.request(raw)
        finally:
            connection.close()
        if status != 200:
            raise RuntimeError(f"webhook answered {status}: {answer[:200]!r}")
        return str(payment[0]), sent_at

    async def open(self, count: int) -> tuple[list[Subscriber], list[str]]:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        errors: list[str] = []

        async def one() -> Subscriber | None:
            subscriber = Subscriber(
                host=self.host,
                port=self.port,
                token=self.job["token"],
                query=WORKSPACE_EVENTS,
                variables={"ws": self.job["workspace_id"]},
                deflate=self.job.get("deflate", True),
            )
            async with gate:
                try:
                    return await connect(subscriber)
                except (OSError, ConnectionError, TimeoutError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    return None

        opened = await asyncio.gather(*(one() for _ in range(count)))
        return [s for s in opened if s is not None], errors

    @staticmethod
    def chunks_in(subscribers: list[Subscriber]) -> int:
        return sum(len(s.deferred or ()) for s in subscribers)

    async def deliver(self, subscribers: list[Subscriber], wait: float) -> tuple[str, float]:
        """Send one webhook, wait until its bytes stop arriving, then parse the frames."""
        for subscriber in subscribers:
            subscriber.defer()
        try:
            payment_id, sent_at = await self.send_webhook()
            seen, quiet_since = 0, time.monotonic()
            while time.monotonic() - sent_at < wait:
                await asyncio.sleep(0.05)
                count = self.chunks_in(subscribers)
                if count != seen:
                    seen, quiet_since = count, time.monotonic()
                elif count and time.monotonic() - quiet_since > 1.0:
                    break
        finally:
            for subscriber in subscribers:
                subscriber.catch_up()
        return payment_id, sent_at

    async def step(self, count: int) -> dict[str, Any]:
        await wait_idle(self.pid)
        gc.collect()
        rss_before = rss_bytes(self.pid)
        started = time.monotonic()
        subscribers, errors = await self.open(count)
        connect_s = time.monotonic() - started
        await wait_idle(self.pid)
        await asyncio.sleep(0.5)
        rss_after = rss_bytes(self.pid)
        per_subscription = (rss_after - rss_before) / max(len(subscribers), 1)
        wait = self.job.get("wait", 20.0)
        probe, _ = await self.deliver(subscribers, wait)
        live = sum(1 for s in subscribers if any(_payment_of(f.data) == probe for f in s.frames))
        latencies: list[float] = []
        received = expected = 0
        server_cpu, client_cpu = cpu_seconds(self.pid), time.process_time()
        webhooks = self.job.get("webhooks", 5)
        for _ in range(webhooks):
            payment_id, sent_at = await self.deliver(subscribers, wait)
            per_subscriber = Counter[int]()
            for index, subscriber in enumerate(subscribers):
                for frame in subscriber.frames:
                    if _payment_of(frame.data) == payment_id:
                        latencies.append(frame.at - sent_at)
                        per_subscriber[index] += 1
            most = max(per_subscriber.values(), default=0)
            expected += most * len(subscribers)
            received += sum(per_subscriber.values())
            await asyncio.sleep(0.2)
        server_cpu = cpu_seconds(self.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        errors += [e for s in subscribers for e in s.errors][:5]
        for subscriber in subscribers:
            subscriber.close()
        await asyncio.sleep(1.0)
        await wait_idle(self.pid)
        return {
            "subscribers": count,
            "connected": len(subscribers),
            "live_after_probe": live,
            "connect_s": round(connect_s, 1),
            "server_rss_before_mib": round(rss_before / 2**20, 1),
            "server_rss_after_mib": round(rss_after / 2**20, 1),
            "bytes_per_idle_subscription": round(per_subscription),
            "webhooks": webhooks,
            "frames_expected": expected,
            "frames_received": received,
            "frames_lost": expected - received,
            "latency_ms": percentiles(latencies),
            # CPU spent while the webhooks were delivered, per webhook: the fan-out client
            # shares the machine, and a busy client reports its own delay as latency.
            "server_cpu_ms_per_webhook": round(server_cpu * 1000 / max(webhooks, 1)),
            "client_cpu_ms_per_webhook": round(client_cpu * 1000 / max(webhooks, 1)),
            "errors": errors[:5],
        }

    async def run(self) -> dict[str, Any]:
        steps = [await self.step(count) for count in self.job["counts"]]
        return {"steps": steps}


def _payment_of(data: dict[str, Any]) -> str | None:
    event = data.get("workspaceEvents") or {}
    payment = event.get("paymentId")
    return str(payment) if payment is not None else None


def main() -> None:
    serve_job(lambda job: FanOut(job).run())


if __name__ == "__main__":
    main()
