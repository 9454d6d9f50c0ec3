"""Who is asking: the authenticated principal and what they may see."""

from dataclasses import dataclass, field
from uuid import UUID

from models.enums import Role
from models.prepared import PreparedQuery
from models.workspace import Membership, user_id_for_email


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified identity from a JWT: no database access needed to build one."""

    email: str
    is_admin: bool = False

    @property
    def user_id(self) -> UUID:
        return user_id_for_email(self.email)


@dataclass(frozen=True, slots=True)
class Actor:
    """A principal with their workspace roles loaded: what use cases authorize against."""

    principal: Principal
    roles: dict[UUID, Role] = field(default_factory=dict)

    @property
    def user_id(self) -> UUID:
        return self.principal.user_id

    @property
    def email(self) -> str:
        return self.principal.email

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def staff_workspace_ids(self) -> frozenset[UUID]:
        return frozenset(self.roles)

    def is_staff_of(self, workspace_id: UUID) -> bool:
        return self.is_admin or workspace_id in self.roles

    def label(self) -> str:
        """How the actor appears in the event history."""
        return f"user:{self.email}"


_memberships = PreparedQuery(
    Membership, lambda user_id: Membership.filter(user_id=user_id), user_id=UUID
)


async def load_actor(principal: Principal) -> Actor:
    """Load the principal's memberships (one prepared query)."""
    rows = await _memberships.all(user_id=principal.user_id)
    return Actor(principal=principal, roles={row.workspace_id: Role(row.role) for row in rows})
