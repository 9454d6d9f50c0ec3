"""Per-actor rate limits (the ``limits`` package) on money-moving mutations and seat holds.

    Quota.spend(action, cost)        one actor's allowance, bound for one request
      ├── every limit of the action has room → counted, returns
      ├── one is full                        → RateLimited(retry_after=seconds)
      └── the storage does not answer        → allowed, logged at WARNING (a Redis outage
                                                must not stop sales)

    RateLimiter                      one per app: the parsed limits and where they count
      ├── REDIS_URL set → async+redis (redis-py), one client per process and URL, so every
      │                   worker and every app in the process counts in the same keys
      └── otherwise     → async+memory, this process only

Windows are moving: "20/minute" allows 20 hits in any 60 seconds, not 20 per clock minute.
An actor is a user id, or the client's address for a caller without a token. A spec is one
or more limits joined by ``;`` (``"20/minute;200/hour"``); an empty spec means no limit.
Adding a mutation is one :class:`Action` member, one setting and one ``spend`` call.
"""

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from weakref import WeakKeyDictionary

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool, Redis

from resolvers.errors import ErrorCode, UserFacingError

logger = logging.getLogger("payql.rate_limits")

KEY_PREFIX = "payql-limits"
REDIS_TIMEOUT_SECONDS = 1.0  # a slow Redis delays a payment by this much, no more


class Action(StrEnum):
    """What is counted: a mutation, or seats put on hold (cost: the seats)."""

    INITIATE_PAYMENT = "initiatePayment"
    CONFIRM_PAYMENT = "confirmPayment"
    REQUEST_REFUND = "requestRefund"
    RECORD_MANUAL_PAYMENT = "recordManualPayment"
    HOLD_SEATS = "holdSeats"


_COUNTED = {Action.HOLD_SEATS: "seats put on hold"}


class RateLimited(UserFacingError):
    """The actor used up an allowance; ``retry_after`` seconds until it has room again."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Quota(Protocol):
    """One actor's allowances, as a use case sees them."""

    async def spend(self, action: Action, *, cost: int = 1) -> None:
        """Count ``cost`` against every limit of ``action``.

        :raises RateLimited: a limit is full.
        """


class Unlimited:
    """No limits: use cases called outside the served app (jobs, the CLI, unit tests)."""

    async def spend(self, action: Action, *, cost: int = 1) -> None:
        """Count nothing."""


UNLIMITED = Unlimited()

# redis-py's connections belong to the event loop that opened them: one pool per URL and
# loop, owned here so that it can be closed.
_shared_redis: "WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Shared]]" = (
    WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class Shared:
    storage: Storage
    pool: ConnectionPool


def _redis_storage(url: str) -> Storage:
    """The running loop's one Redis-backed storage for ``url`` (a connection pool, reused)."""
    shared = _shared_redis.setdefault(asyncio.get_running_loop(), {})
    if url not in shared:
        pool = ConnectionPool.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]
        )
        shared[url] = Shared(storage, pool)
    return shared[url].storage


async def close_connections() -> None:
    """Close the running loop's Redis connections (at shutdown); the next hit reopens them."""
    shared = _shared_redis.pop(asyncio.get_running_loop(), {})
    for entry in shared.values():
        await entry.pool.aclose()


def parse_limits(spec: str) -> tuple[RateLimitItem, ...]:
    """``"20/minute;200/hour"`` as limit items; ``""`` as none.

    :raises ValueError: the spec does not parse.
    """
    return tuple(parse_many(spec)) if spec.strip() else ()


class RateLimitSettings(Protocol):
    """The settings a :class:`RateLimiter` is built from (``app.settings.Settings``)."""

    redis_url: str | None
    rate_limits: bool
    rate_limit_initiate_payment: str
    rate_limit_confirm_payment: str
    rate_limit_request_refund: str
    rate_limit_manual_payment: str
    rate_limit_seats: str


class RateLimiter:
    """The limits of each action and the storage they count in; cheap to keep per app."""

    @classmethod
    def from_settings(cls, settings: RateLimitSettings) -> "RateLimiter":
        """The limits the settings name (none when ``PAYQL_RATE_LIMITS`` is off).

        :raises ValueError: a limit does not parse (refused at start-up, not per request).
        """
        if not settings.rate_limits:
            return cls({})
        specs = {
            Action.INITIATE_PAYMENT: settings.rate_limit_initiate_payment,
            Action.CONFIRM_PAYMENT: settings.rate_limit_confirm_payment,
            Action.REQUEST_REFUND: settings.rate_limit_request_refund,
            Action.RECORD_MANUAL_PAYMENT: settings.rate_limit_manual_payment,
            Action.HOLD_SEATS: settings.rate_limit_seats,
        }
        return cls(specs, redis_url=settings.redis_url)

    def __init__(self, limits: Mapping[Action, str], *, redis_url: str | None = None) -> None:
        self._limits = {action: parse_limits(spec) for action, spec in limits.items()}
        self._redis_url = redis_url
        self._strategy: MovingWindowRateLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def quota(self, actor_key: str) -> "ActorQuota":
        """The allowances of one actor (``user:<id>`` or ``ip:<address>``)."""
        return ActorQuota(self, actor_key)

    def _counter(self) -> MovingWindowRateLimiter:
        # Built on first use inside the event loop (the memory storage starts a task there),
        # and again if the app is served by another loop.
        loop = asyncio.get_running_loop()
        if self._strategy is None or self._loop is not loop:
            storage = (
                _redis_storage(self._redis_url)
                if self._redis_url
                else MemoryStorage(wrap_exceptions=True)
            )
            self._strategy, self._loop = MovingWindowRateLimiter(storage), loop
        return self._strategy

    async def hit(self, action: Action, actor_key: str, *, cost: int = 1) -> None:
        """Count one use of ``action`` by ``actor_key``.

        :raises RateLimited: one of the action's limits is full.
        """
        items = self._limits.get(action, ())
        if not items:
            return
        counter = self._counter()
        try:
            for item in items:
                if not await counter.hit(item, action.value, actor_key, cost=cost):
                    reset_at, _ = await counter.get_window_stats(item, action.value, actor_key)
                    retry_after = max(1, math.ceil(reset_at - time.time()))
                    raise RateLimited(
                        f"too many {_COUNTED.get(action, f'{action.value} calls')}: at most "
                        f"{item}; try again in {retry_after} s",
                        retry_after=retry_after,
                    )
        except StorageError as exc:
            logger.warning(
                "rate limit storage unavailable (%s); %s allowed unchecked",
                type(exc.storage_error).__name__,
                action.value,
            )


class ActorQuota:
    """A :class:`RateLimiter` bound to one actor."""

    def __init__(self, limiter: RateLimiter, actor_key: str) -> None:
        self.limiter = limiter
        self.actor_key = actor_key

    async def spend(self, action: Action, *, cost: int = 1) -> None:
        """Count ``cost`` against every limit of ``action`` for this actor.

        :raises RateLimited: a limit is full.
        """
        await self.limiter.hit(action, self.actor_key, cost=cost)


async def forget_counts(redis_url: str | None) -> None:
    """Delete every counter payql keeps in Redis at ``redis_url`` (tests start clean)."""
    if not redis_url:
        return
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{KEY_PREFIX}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
