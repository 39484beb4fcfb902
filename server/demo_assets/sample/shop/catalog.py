"""The product catalogue. Prices are Decimal: money is never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


class UnknownProduct(LookupError):
    pass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_price: Decimal
    tax_class: str = "standard"  # "standard" or "reduced" (books, food)


_PRODUCTS = [
    Product("MUG-01", "Enamel mug", Decimal("12.50")),
    Product("TEE-02", "Organic cotton tee", Decimal("24.00")),
    Product("BAG-03", "Canvas tote bag", Decimal("9.90")),
    Product("BOOK-04", "The Pragmatic Shopkeeper", Decimal("31.00"), tax_class="reduced"),
    Product("CAP-05", "Embroidered cap", Decimal("18.00")),
]
CATALOG: dict[str, Product] = {p.sku: p for p in _PRODUCTS}


def get_product(sku: str) -> Product:
    try:
        return CATALOG[sku]
    except KeyError:
        raise UnknownProduct(f"unknown product {sku!r}") from None
