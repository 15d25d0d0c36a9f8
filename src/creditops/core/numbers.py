"""Exact decimal helpers shared by the whole domain."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
CENT = Decimal("0.01")


def round_money(amount: Decimal) -> Decimal:
    """Rounds an amount half up to cents: the only rounding money sees, at output."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_to(amount: Decimal, places: int) -> Decimal:
    """Rounds half up to ``places`` decimal places."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_decimal(text: object) -> Decimal:
    """Reads an exact decimal from a string or int; refuses floats (they are already inexact),
    booleans, NaN and infinities. Raises ``ValueError`` with the reason."""
    if isinstance(text, bool | float):
        raise ValueError(f"{text!r} is not an exact decimal (write it as a string)")
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int):
        value = Decimal(text)
    elif isinstance(text, str):
        cleaned = text.strip().replace("_", "")
        if not cleaned:
            raise ValueError("empty value where a number was expected")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
    else:
        raise ValueError(f"{text!r} is not a number")
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def normalize(value: Decimal) -> Decimal:
    """Drops trailing zeros without switching to exponent notation (2E+6 becomes 2000000)."""
    if value == 0:
        return ZERO
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1))
    return normalized
