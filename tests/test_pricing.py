"""Pricing on integers: subtotal, discount, tax, fee, total, half-up at the minor unit."""

from hypothesis import given
from hypothesis import strategies as st

from resolvers.pricing import Discount, Line, quote


def test_usd_with_percent_voucher_tax_and_fee() -> None:
    # 3 × $25.00 = $75.00; 10% off = $7.50; tax 7.5% of $67.50 = $5.0625 → $5.06;
    # fee 3% of $72.56 = $2.1768 → $2.18; total $74.74.
    priced = quote([Line(2500, 3)], discount=Discount(percent=10), tax_bps=750, fee_bps=300)
    assert (priced.subtotal, priced.discount, priced.tax, priced.fee) == (7500, 750, 506, 218)
    assert priced.total == 7474


def test_jpy_has_no_minor_unit_to_round_to() -> None:
    # ¥3,000 × 2 = ¥6,000; tax 10% = ¥600; fee 2.5% of ¥6,600 = ¥165; total ¥6,765.
    priced = quote([Line(3000, 2)], discount=None, tax_bps=1000, fee_bps=250)
    assert (priced.subtotal, priced.tax, priced.fee, priced.total) == (6000, 600, 165, 6765)


def test_kwd_rounds_half_up_at_the_fils() -> None:
    # KWD 1.255 × 1; tax 5% = 0.06275 → 0.063 (half up); fee 2% of 1.318 = 0.02636 → 0.026.
    priced = quote([Line(1255, 1)], discount=None, tax_bps=500, fee_bps=200)
    assert (priced.tax, priced.fee, priced.total) == (63, 26, 1255 + 63 + 26)


def test_exact_half_rounds_up() -> None:
    # 50 × 1% = 0.5 → 1
    assert quote([Line(50, 1)], discount=None, tax_bps=100, fee_bps=0).tax == 1


def test_fixed_discount_never_exceeds_subtotal() -> None:
    priced = quote([Line(500, 1)], discount=Discount(amount=2000), tax_bps=1000, fee_bps=300)
    assert (priced.discount, priced.tax, priced.fee, priced.total) == (500, 0, 0, 0)


@given(
    lines=st.lists(
        st.builds(Line, st.integers(0, 10**9), st.integers(1, 100)), min_size=1, max_size=10
    ),
    percent=st.one_of(st.none(), st.integers(1, 100)),
    tax_bps=st.integers(0, 5000),
    fee_bps=st.integers(0, 2000),
)
def test_totals_add_up_and_stay_non_negative(
    lines: list[Line], percent: int | None, tax_bps: int, fee_bps: int
) -> None:
    discount = Discount(percent=percent) if percent else None
    priced = quote(lines, discount=discount, tax_bps=tax_bps, fee_bps=fee_bps)
    assert priced.subtotal == sum(line.unit_price * line.quantity for line in lines)
    assert 0 <= priced.discount <= priced.subtotal
    assert min(priced.tax, priced.fee, priced.total) >= 0
    assert priced.total == priced.subtotal - priced.discount + priced.tax + priced.fee
    if percent == 100:
        assert priced.total == 0
