"""Users as rows: created the first time they act."""

from tortoise.exceptions import IntegrityError

from models.prepared import by_id
from models.workspace import User
from resolvers.actor import Principal

_user_by_id = by_id(User)


async def ensure_user(principal: Principal) -> User:
    """The principal's User row, created on first use (safe under concurrency)."""
    user = await _user_by_id.first(id=principal.user_id)
    if user is not None:
        if principal.is_admin and not user.is_admin:
            user.is_admin = True
            await user.save(update_fields=["is_admin", "updated_at"])
        return user
    try:
        return await User.create(
            id=principal.user_id, email=principal.email, is_admin=principal.is_admin
        )
    except IntegrityError:
        return await User.get(id=principal.user_id)
