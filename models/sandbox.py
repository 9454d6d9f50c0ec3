"""What the built-in sandbox gateway must not forget across a restart."""

from datetime import datetime

from tortoise import fields
from tortoise.models import Model


class SandboxPromise(Model):
    """A webhook the sandbox promised to send (a delayed payment, refund or dispute
    outcome), deleted once sent. ``body`` is the JSON event, signed when it is sent."""

    key = fields.CharField(max_length=64, primary_key=True)  # the event id in the body
    body = fields.TextField()
    due_at: datetime = fields.DatetimeField()
    claimed_until: datetime | None = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "sandbox_promise"
        indexes = (("due_at",),)
