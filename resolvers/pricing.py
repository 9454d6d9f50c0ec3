"""Order pricing on integers, from the catalog: never from the client.

    subtotal = Σ unit_price × quantity
    discount = voucher: percent → half_up(subtotal × pct / 100); fixed → min(amount, subtotal)
    tax      = half_up((subtotal − discount) × tax_bps / 10 000)
    fee      = half_up((subtotal − discount + tax) × fee_bps / 10 000)   (passed to the buyer)
    total    = subtotal − discount + tax + fee

All values are minor units of one currency; rounding is half-up at the minor unit.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from models.money import div_half_up

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Line:
    unit_price: int
    quantity: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Discount:
    """A voucher's terms: exactly one of ``percent`` (1–100) or ``amount`` (minor units)."""

    percent: int | None = None
    amount: int | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    subtotal: int
    discount: int
    tax: int
    fee: int

    @property
    def total(self) -> int:
        return self.subtotal - self.discount + self.tax + self.fee


def quote(lines: Sequence[Line], *, discount: Discount | None, tax_bps: int, fee_bps: int) -> Quote:
    """Price ``lines`` with an optional discount, tax and buyer-paid fee."""
    subtotal = sum(line.total for line in lines)
    off = 0
    if discount is not None and discount.percent is not None:
        off = div_half_up(subtotal * discount.percent, 100)
    elif discount is not None and discount.amount is not None:
        off = discount.amount
    off = min(off, subtotal)
    taxable = subtotal - off
    tax = div_half_up(taxable * tax_bps, BPS)
    fee = div_half_up((taxable + tax) * fee_bps, BPS)
    return Quote(subtotal=subtotal, discount=off, tax=tax, fee=fee)
