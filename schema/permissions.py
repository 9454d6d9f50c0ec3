"""Field permissions. Failing ones become top-level errors with an ``extensions.code``."""

from typing import Any

from strawberry.permission import BasePermission

from schema.context import Info


class IsAuthenticated(BasePermission):
    """A valid bearer token is required (missing or bad: ``UNAUTHENTICATED``)."""

    message = "Authentication required: send a valid 'Authorization: Bearer <token>' header."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal is not None and info.context.auth_error is None
