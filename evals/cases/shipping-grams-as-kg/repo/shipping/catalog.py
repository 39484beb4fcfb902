"""Products as exported by the PIM (weights in grams since the 2.4 migration)."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownProduct(LookupError):
    pass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    weight_g: int


PRODUCTS = {p.sku: p for p in [
    Product("MUG-01", "Enamel mug", 350),
    Product("TEE-02", "Organic T-shirt", 180),
    Product("BOT-03", "Steel bottle", 420),
    Product("LAMP-04", "Desk lamp", 1900),
]}


def get_product(sku: str) -> Product:
    try:
        return PRODUCTS[sku]
    except KeyError:
        raise UnknownProduct(sku) from None
