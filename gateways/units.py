"""Gateway-side currency units: payql's integer minor units ⇄ each gateway's own unit.

payql stores amounts in ISO 4217 minor units (Babel's CLDR exponents, as ``models.money``).
Gateways disagree: Stripe treats a few currencies differently from ISO, Flutterwave takes
major units as decimals. Every conversion is exact or refused: money is never rounded on
its way to a gateway.
"""

from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies


class CurrencyNotSupported(ValueError):
    """The currency is unknown, or the amount cannot be expressed exactly for the gateway."""


@lru_cache(maxsize=512)
def iso_exponent(currency: str) -> int:
    """payql's minor-unit exponent for ``currency`` (JPY 0, USD 2, KWD 3)."""
    code = currency.upper()
    if code not in list_currencies():
        raise CurrencyNotSupported(f"unknown currency {currency!r}")
    return int(get_currency_precision(code))


def rescale(amount: int, currency: str, *, to_exponent: int) -> int:
    """``amount`` (payql minor units) expressed with ``to_exponent`` decimals, exactly.

    :raises CurrencyNotSupported: the conversion would lose a fraction.
    """
    shift = to_exponent - iso_exponent(currency)
    if shift >= 0:
        return amount * _ten(shift)
    quotient, remainder = divmod(amount, _ten(-shift))
    if remainder:
        raise CurrencyNotSupported(
            f"{amount} {currency} minor units cannot be sent with {to_exponent} decimals"
        )
    return quotient


def from_scale(amount: int, currency: str, *, from_exponent: int) -> int:
    """The inverse of :func:`rescale`: a gateway amount back to payql minor units.

    :raises CurrencyNotSupported: the gateway's amount has more precision than payql keeps.
    """
    shift = iso_exponent(currency) - from_exponent
    if shift >= 0:
        return amount * _ten(shift)
    quotient, remainder = divmod(amount, _ten(-shift))
    if remainder:
        raise CurrencyNotSupported(f"{amount} ({currency}) has more precision than ISO 4217")
    return quotient


def _ten(power: int) -> int:
    return int("1" + "0" * power)


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal in major units (``1250 USD`` → ``Decimal("12.50")``)."""
    return Decimal(amount).scaleb(-iso_exponent(currency))


def from_major(value: Decimal | str | int | float, currency: str) -> int:
    """Major units (as a gateway reports them) to minor units; floats go through ``str``.

    :raises CurrencyNotSupported: more decimals than the currency has.
    """
    decimal = Decimal(str(value))
    minor = decimal.scaleb(iso_exponent(currency))
    if minor != minor.to_integral_value():
        raise CurrencyNotSupported(f"{value} {currency} has more decimals than the currency")
    return int(minor)
