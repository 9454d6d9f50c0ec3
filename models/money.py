"""Money: integer minor units, ISO 4217 exponents from Babel's CLDR data, half-up rounding.

Amounts are ``int`` minor units everywhere (1250 USD = $12.50, 1250 JPY = ¥1,250,
1250 KWD = KWD 1.250). Nothing here uses floats.
"""

import re
from decimal import Decimal
from functools import lru_cache

from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
)


class UnknownCurrency(ValueError):
    """The code is not an ISO 4217 currency."""


@lru_cache(maxsize=512)
def normalize_currency(code: str) -> str:
    """Return the upper-case ISO 4217 code, or raise :class:`UnknownCurrency`."""
    upper = code.strip().upper()
    if len(upper) != 3 or upper not in list_currencies():
        raise UnknownCurrency(code)
    return upper


@lru_cache(maxsize=512)
def exponent(currency: str) -> int:
    """Minor-unit exponent of ``currency`` (JPY 0, USD 2, KWD 3)."""
    return int(get_currency_precision(normalize_currency(currency)))


def div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, on integers (both non-negative)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("div_half_up takes a non-negative numerator and positive denominator")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def to_decimal(amount: int, currency: str) -> Decimal:
    """Minor units to an exact Decimal in major units (display only)."""
    return Decimal(amount).scaleb(-exponent(currency))


def decimal_string(amount: int, currency: str) -> str:
    """``"12.50"`` for 1250 USD, ``"1250"`` for 1250 JPY, ``"1.250"`` for 1250 KWD."""
    digits = exponent(currency)
    return f"{to_decimal(amount, currency):.{digits}f}"


def formatted(amount: int, currency: str, locale: str = "en_US") -> str:
    """Human display, e.g. ``"$12.50"``, ``"¥1,250"``, ``"KWD 1.250"`` (a no-break space
    between a letter code and its digits, as CLDR's currency spacing and browsers'
    ``Intl.NumberFormat`` put it)."""
    text = str(format_currency(to_decimal(amount, currency), currency, locale=locale))
    spacing = _currency_spacing(currency, locale)
    return spacing.sub(NO_BREAK_SPACE, text) if spacing is not None else text


NO_BREAK_SPACE = "\u00a0"


@lru_cache(maxsize=512)
def _currency_spacing(currency: str, locale: str) -> re.Pattern[str] | None:
    """Where a space belongs: between a symbol ending in a letter and a digit after it, or
    a digit and a symbol starting with a letter after it. None when the symbol is a sign
    (``$``, ``€``): those sit against the digits. Babel leaves CLDR's spacing rule out."""
    symbol = str(get_currency_symbol(currency, locale=locale))
    places = []
    if symbol[-1:].isalpha():
        places.append(rf"(?<={re.escape(symbol)})(?=\d)")
    if symbol[:1].isalpha():
        places.append(rf"(?<=\d)(?={re.escape(symbol)})")
    return re.compile("|".join(places)) if places else None
