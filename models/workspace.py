"""Tenants and people: Workspace, User, Membership."""

from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from tortoise import fields

from models.base import Entity
from models.enums import Role

DEFAULT_HOLD_MINUTES = 15


@lru_cache(maxsize=4096)
def user_id_for_email(email: str) -> UUID:
    """Stable user id derived from the (lower-cased) email a JWT carries.

    Deriving it lets a request know its user id without a database round trip; the row is
    created the first time the user writes something (see ``resolvers.people.ensure_user``).
    Cached: the SHA-1 behind ``uuid5`` is a measurable share of an ``order(id)`` request.
    """
    return uuid5(NAMESPACE_URL, f"payql:user:{email.strip().lower()}")


class Workspace(Entity):
    """An organizer or merchant: the tenant that owns products, orders and settings."""

    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    default_currency = fields.CharField(max_length=3, default="USD")
    enabled_gateways: list[str] = fields.JSONField(default=list)
    fee_bps = fields.IntField(default=0)
    tax_bps = fields.IntField(default=0)
    hold_minutes = fields.IntField(default=DEFAULT_HOLD_MINUTES)
    customer_refunds_allowed = fields.BooleanField(default=True)

    class Meta:
        table = "workspace"


class User(Entity):
    """A person known by the email in their JWT."""

    email = fields.CharField(max_length=320, unique=True)
    is_admin = fields.BooleanField(default=False)

    class Meta:
        table = "user"


class Membership(Entity):
    """A user's role in a workspace (STAFF or OWNER)."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    user_id: UUID
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="memberships", on_delete=fields.CASCADE
    )
    workspace_id: UUID
    role = fields.CharEnumField(Role, max_length=16, default=Role.STAFF)

    class Meta:
        table = "membership"
        unique_together = (("user", "workspace"),)
