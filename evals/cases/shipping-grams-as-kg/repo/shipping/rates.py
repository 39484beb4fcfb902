"""Carrier rates: price per parcel by destination zone and weight band (kg)."""

from __future__ import annotations

from decimal import Decimal

ZONES = {"DE": "DOM", "AT": "EU-1", "FR": "EU-1", "NL": "EU-1", "IT": "EU-2", "ES": "EU-2", "SE": "EU-2"}
MAX_PARCEL_KG = 31.5
# (upper bound in kg, price) per zone, ascending
BANDS = {
    "DOM": [(2, Decimal("4.99")), (5, Decimal("5.99")), (10, Decimal("8.49")), (MAX_PARCEL_KG, Decimal("14.99"))],
    "EU-1": [(2, Decimal("6.99")), (5, Decimal("9.99")), (10, Decimal("14.49")), (MAX_PARCEL_KG, Decimal("24.99"))],
    "EU-2": [(2, Decimal("8.99")), (5, Decimal("12.99")), (10, Decimal("18.49")), (MAX_PARCEL_KG, Decimal("32.99"))],
}


class NoRate(LookupError):
    """No parcel rate applies (unknown destination, or the parcel needs freight)."""


def zone_for(country: str) -> str:
    try:
        return ZONES[country.upper()]
    except KeyError:
        raise NoRate(f"we don't ship to {country!r}") from None


def rate_for(weight_kg: float, zone: str) -> Decimal:
    if weight_kg <= 0:
        raise ValueError(f"weight must be positive, got {weight_kg}")
    for upper, price in BANDS[zone]:
        if weight_kg <= upper:
            return price
    raise NoRate(f"no parcel rate for {weight_kg} kg to zone {zone}: over {MAX_PARCEL_KG} kg goes by freight")
