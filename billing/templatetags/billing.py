from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

# Stripe amounts are in the currency's minor unit, except for these (docs: zero-decimal currencies).
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
}  # fmt: skip


@register.filter
def minor_units(amount: int, currency: str) -> str:
    """12345, "usd" → "123.45 USD"."""
    currency = (currency or "").lower()
    places = 0 if currency in ZERO_DECIMAL else 2
    value = Decimal(amount or 0).scaleb(-places)
    return f"{number_format(value, places)} {currency.upper()}"
