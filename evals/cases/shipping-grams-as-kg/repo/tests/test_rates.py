from decimal import Decimal

import pytest

from shipping.rates import NoRate, rate_for, zone_for


def test_zones() -> None:
    assert zone_for("fr") == "EU-1" and zone_for("DE") == "DOM"
    with pytest.raises(NoRate):
        zone_for("US")


@pytest.mark.parametrize(("kg", "price"), [(0.5, "4.99"), (2, "4.99"), (2.01, "5.99"), (31.5, "14.99")])
def test_domestic_bands(kg: float, price: str) -> None:
    assert rate_for(kg, "DOM") == Decimal(price)


def test_heavier_than_a_parcel_needs_freight() -> None:
    with pytest.raises(NoRate, match="freight"):
        rate_for(40, "EU-1")
