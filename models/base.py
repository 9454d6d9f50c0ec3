"""Shared model plumbing: opaque UUID primary keys and timestamps."""

from uuid import uuid4

from tortoise import fields
from tortoise.models import Model


class Entity(Model):
    """A row with an unguessable UUID id and creation/update timestamps."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
