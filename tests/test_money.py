"""Money rules: exponents from CLDR data, half-up integer rounding, display strings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.money import (
    UnknownCurrency,
    decimal_string,
    div_half_up,
    exponent,
    formatted,
    normalize_currency,
)


@pytest.mark.parametrize(
    ("currency", "digits"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3), ("BHD", 3)]
)
def test_exponent_comes_from_iso_4217_data(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


@pytest.mark.parametrize(
    ("amount", "currency", "decimal", "display"),
    [
        (1250, "USD", "12.50", "$12.50"),
        (5, "USD", "0.05", "$0.05"),
        (1250, "JPY", "1250", "¥1,250"),
        (1250, "KWD", "1.250", "KWD\xa01.250"),
        (12500, "KWD", "12.500", "KWD\xa012.500"),
        (100, "CHF", "1.00", "CHF\xa01.00"),
        (0, "USD", "0.00", "$0.00"),
    ],
)
def test_decimal_and_formatted_strings(
    amount: int, currency: str, decimal: str, display: str
) -> None:
    assert decimal_string(amount, currency) == decimal
    assert formatted(amount, currency) == display


@pytest.mark.parametrize(
    ("locale", "display"), [("de_DE", "12,500\xa0KWD"), ("en_US", "-KWD\xa012.500")]
)
def test_a_letter_code_is_spaced_from_its_digits_on_either_side(locale: str, display: str) -> None:
    amount = 12500 if locale != "en_US" else -12500
    assert formatted(amount, "KWD", locale) == display


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 10, 1),
        (4, 10, 0),
        (15, 10, 2),
        (25, 10, 3),
        (0, 7, 0),
        (7500, 10000, 1),
        (4999, 10000, 0),
    ],
)
def test_div_half_up_rounds_halves_up(numerator: int, denominator: int, expected: int) -> None:
    assert div_half_up(numerator, denominator) == expected


@given(st.integers(0, 10**15), st.integers(1, 10**6))
def test_div_half_up_is_nearest_integer(numerator: int, denominator: int) -> None:
    result = div_half_up(numerator, denominator)
    assert 2 * abs(result * denominator - numerator) <= denominator
    assert result * denominator - numerator < denominator  # never rounds a half down


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(UnknownCurrency):
        normalize_currency("XYZ")
    assert normalize_currency(" usd ") == "USD"
