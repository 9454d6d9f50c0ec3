"""Demo data: the ``demo`` workspace with products in USD, JPY and KWD."""

from datetime import UTC, datetime, timedelta

from models import Membership, Product, User, Voucher, Workspace
from models.enums import GatewayName, Role, VoucherKind
from models.workspace import user_id_for_email

DEMO_SLUG = "demo"
DEMO_CUSTOMER = "buyer@example.com"
DEMO_STAFF = "staff@example.com"


async def seed_demo(now: datetime | None = None) -> bool:
    """Create the demo workspace unless it exists. Returns True when it created it."""
    if await Workspace.exists(slug=DEMO_SLUG):
        return False
    now = now or datetime.now(UTC)
    workspace = await Workspace.create(
        slug=DEMO_SLUG,
        name="Demo Events",
        default_currency="USD",
        # Every gateway: the ones configured in this process (keys set) are the ones offered.
        enabled_gateways=[g.value for g in GatewayName if g.value not in ("MANUAL", "COMP")],
        fee_bps=300,  # 3% processing fee passed to the buyer
        tax_bps=750,  # 7.5% tax
        hold_minutes=15,
    )
    soon = now + timedelta(days=30)
    products = [
        ("General Admission", 2500, "USD", 200),
        ("VIP Pass", 12000, "USD", 20),
        ("Last Seats", 4000, "USD", 5),
        ("Free Community Meetup", 0, "USD", 100),
        ("Tokyo Workshop", 3000, "JPY", 50),
        ("Kuwait Gala Dinner", 12500, "KWD", 30),
    ]
    await Product.bulk_create(
        [
            Product(
                workspace_id=workspace.id,
                name=name,
                price=price,
                currency=currency,
                capacity=capacity,
                starts_at=soon,
            )
            for name, price, currency, capacity in products
        ]
    )
    await Voucher.create(
        workspace_id=workspace.id, code="WELCOME10", kind=VoucherKind.PERCENT, percent_off=10
    )
    await ensure_staff(DEMO_STAFF, workspace)
    return True


async def ensure_staff(email: str, workspace: Workspace, role: Role = Role.STAFF) -> None:
    """Make ``email`` a member of ``workspace`` (creating the user if needed)."""
    user, _ = await User.get_or_create(
        id=user_id_for_email(email), defaults={"email": email.strip().lower()}
    )
    await Membership.get_or_create(
        user_id=user.id, workspace_id=workspace.id, defaults={"role": role}
    )
