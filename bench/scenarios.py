"""What each scenario sends, and the ladder of arrival rates it climbs.

Every HTTP scenario runs a *ladder* (start rate, ×2 until a step fails, then refined
between the last passing and the failing rate; a step fails when fewer than 90 % of the
offered requests complete within the step, or any is dropped or fails) and then a *fixed*
moderate rate (100/s, or half the max sustained when that is lower) for latencies that
compare across scenarios. The write path's fixed rate is its target: 100 orders/s.
"""

import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from bench.environment import REPO

ORDER = (
    "query O($id: ID!) { order(id: $id) { id number status total { amount currency } createdAt } }"
)
ORDERS = """
query Orders($first: Int!) {
  orders(first: $first) {
    edges { node {
      id number status total { amount currency formatted }
      items { productName quantity unitPrice { amount } }
      payments { id status amount { amount } refunds { id status amount { amount } } }
      refunds { id status amount { amount } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass(frozen=True)
class Timing:
    """Seconds per ladder step (after a warm-up) and for the fixed-rate runs."""

    step: float = 3.0
    warmup: float = 1.0
    fixed: float = 5.0
    write_fixed: float = 10.0
    max_steps: int = 7
    refine: int = 3

    @classmethod
    def quick(cls) -> "Timing":
        return cls(step=1.5, warmup=0.5, fixed=2.0, write_fixed=3.0, max_steps=5, refine=1)


@dataclass
class Scenario:
    key: str
    title: str
    kind: str  # loadgen job kind
    start: float  # first rung of the ladder, requests (or orders) per second
    fixed_rate: float = 100.0
    fixed_is_target: bool = False  # measure at fixed_rate even above half the max
    requests: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def job(self, port: int, pid: int, timing: Timing) -> dict[str, Any]:
        fixed_duration = timing.write_fixed if self.fixed_is_target else timing.fixed
        return {
            "host": "127.0.0.1",
            "port": port,
            "server_pid": pid,
            "kind": self.kind,
            "requests": self.requests,
            "max_inflight": 256,
            "timeout": 10.0,
            "plan": {
                "ladder": {
                    "start": self.start,
                    "factor": 2.0,
                    "duration": timing.step,
                    "warmup": timing.warmup,
                    "max_steps": timing.max_steps,
                    "refine": timing.refine,
                },
                "fixed": {
                    "rate": self.fixed_rate,
                    "duration": fixed_duration,
                    "warmup": timing.warmup,
                    "at_most_half_max": not self.fixed_is_target,
                },
            },
            **self.extra,
        }


def graphql_post(query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/graphql",
        "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        "body": json.dumps({"query": query, "variables": variables}),
    }


def floor_scenarios(order_ids: list[str]) -> list[Scenario]:
    def gets(prefix: str) -> list[dict[str, Any]]:
        return [{"method": "GET", "path": f"/{prefix}/{oid}"} for oid in order_ids]

    return [
        Scenario(
            "floor_tortoise",
            "(a) floor: Starlette + Tortoise",
            "status",
            400,
            requests=gets("tortoise"),
        ),
        Scenario(
            "floor_driver", "(a) floor: Starlette + driver", "status", 400, requests=gets("driver")
        ),
    ]


def payql_scenarios(
    *, buyer_token: str, writer_token: str, order_ids: list[str], data: dict[str, Any]
) -> list[Scenario]:
    order_requests = [graphql_post(ORDER, {"id": oid}, buyer_token) for oid in order_ids]
    pages = {size: [graphql_post(ORDERS, {"first": size}, buyer_token)] for size in (10, 50, 100)}
    return [
        Scenario("order", "(b) order(id)", "graphql", 100, requests=order_requests),
        Scenario("orders_10", "(c) orders(first: 10)", "graphql", 40, requests=pages[10]),
        Scenario("orders_50", "(c) orders(first: 50)", "graphql", 10, requests=pages[50]),
        Scenario("orders_100", "(c) orders(first: 100)", "graphql", 5, requests=pages[100]),
        Scenario(
            "webhooks",
            "(e) sandbox webhooks (10% duplicates)",
            "webhook",
            50,
            extra={"webhook": data["webhook"]},
        ),
        Scenario(
            "write",
            "(d) createOrder + initiatePayment",
            "write",
            10,
            fixed_is_target=True,
            extra={"write": data["write"] | {"token": writer_token}},
        ),
    ]


async def run_process(module: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``python -m <module>`` with ``job`` on stdin; its JSON answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    out, err = await process.communicate(json.dumps(job).encode())
    if process.returncode != 0:
        raise RuntimeError(f"{module} failed ({process.returncode}):\n{err.decode()[-3000:]}")
    answer: dict[str, Any] = json.loads(out)
    return answer
