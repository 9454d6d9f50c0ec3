"""Typed mutation errors: ``UserError { code message field }`` from use-case exceptions."""

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from resolvers.errors import ErrorCode, UserFacingError

T = TypeVar("T")

strawberry.enum(ErrorCode, description="Why a mutation could not do what was asked.")


@strawberry.type(description="An expected failure the client can act on.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation, safe to show.")
    field: list[str] | None = strawberry.field(
        description="Path to the input field concerned, e.g. [input, items, 0, quantity]."
    )

    @classmethod
    def of(cls, exc: UserFacingError) -> "UserError":
        return cls(code=exc.code, message=exc.message, field=exc.field)


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Await a use case; expected failures become ``errors``, anything else propagates."""
    try:
        return await call, []
    except UserFacingError as exc:
        return None, [UserError.of(exc)]
