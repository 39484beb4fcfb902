"""The cart as the checkout sends it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shipping.catalog import Product, get_product

PACKAGING_KG = 0.2  # box and filling, per parcel


class CartError(ValueError):
    pass


@dataclass(frozen=True)
class CartLine:
    product: Product
    qty: int


def parse_cart(items: Iterable[Mapping[str, Any]]) -> list[CartLine]:
    lines = []
    for item in items:
        qty = item.get("qty", 1)
        if not isinstance(qty, int) or qty < 1:
            raise CartError(f"bad quantity for {item.get('sku')!r}: {qty!r}")
        lines.append(CartLine(get_product(str(item.get("sku"))), qty))
    if not lines:
        raise CartError("the cart is empty")
    return lines


def total_weight(lines: Iterable[CartLine]) -> float:
    """The parcel's shipping weight in kilograms, packaging included."""
    return round(sum(line.product.weight_g * line.qty for line in lines) + PACKAGING_KG, 3)
