"""Idempotency keys: the same key from the same user replays the first result.

The key row is inserted in the same transaction as the work it guards. Two concurrent
requests with one key collide on the (user, operation, key) unique index: the loser's
transaction rolls back whole (including any capacity it held) and it replays the winner's
result once that commits. Keys are kept 25 hours (24 h promised, plus margin); an
expired key is forgotten, and the pruning job deletes expired keys in batches.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.expressions import Subquery

from models.records import IdempotencyKey
from resolvers.errors import IdempotencyKeyReused, InvalidInput

KEY_TTL = timedelta(hours=25)  # promised: at least 24 h after the request
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class IdempotencyScope:
    user_id: UUID
    operation: str
    key: str
    fingerprint: str


def fingerprint(request: dict[str, Any]) -> str:
    """A stable hash of the request's meaningful input."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scope_for(
    *, user_id: UUID, operation: str, key: str | None, request: dict[str, Any]
) -> IdempotencyScope | None:
    """The scope to guard, or None when the client sent no key.

    :raises InvalidInput: the key is blank or longer than 255 characters.
    """
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            "idempotencyKey must be 1 to 255 characters", field=["input", "idempotencyKey"]
        )
    return IdempotencyScope(user_id, operation, key, fingerprint(request))


async def find_replay(scope: IdempotencyScope, *, now: datetime) -> UUID | None:
    """The resource a previous request with this key produced, if it is still kept.

    :raises IdempotencyKeyReused: the key was used with different input.
    """
    row = await IdempotencyKey.get_or_none(
        user_id=scope.user_id, operation=scope.operation, key=scope.key
    )
    if row is None:
        return None
    if row.expires_at <= now:
        await IdempotencyKey.filter(id=row.id, expires_at__lte=now).delete()
        return None
    if row.fingerprint != scope.fingerprint:
        raise IdempotencyKeyReused(
            "this idempotencyKey was already used with different input",
            field=["input", "idempotencyKey"],
        )
    return row.resource_id


async def claim(scope: IdempotencyScope, *, resource_id: UUID, now: datetime) -> None:
    """Insert the key row; call inside the transaction that creates ``resource_id``.

    Raises tortoise's IntegrityError when a concurrent request claimed it first.
    """
    await IdempotencyKey.create(
        user_id=scope.user_id,
        operation=scope.operation,
        key=scope.key,
        fingerprint=scope.fingerprint,
        resource_id=resource_id,
        expires_at=now + KEY_TTL,
    )


async def prune_expired_keys(*, now: datetime, batch: int) -> int:
    """Delete up to ``batch`` keys whose promise has run out; returns how many."""
    expired = IdempotencyKey.filter(expires_at__lte=now).order_by("expires_at").limit(batch)
    return await IdempotencyKey.filter(id__in=Subquery(expired.values("id"))).delete()
