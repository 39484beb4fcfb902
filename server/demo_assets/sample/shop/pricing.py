"""Pricing an order: line totals, discounts, VAT."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from shop import catalog, discounts, tax
from shop.orders import LineItem, OrderRequest

log = logging.getLogger("shop.pricing")


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    total: Decimal  # after the volume discount, before the coupon and VAT
    tax_class: str


@dataclass(frozen=True)
class Quote:
    lines: list[PricedLine]
    subtotal: Decimal
    coupon_discount: Decimal
    vat: Decimal
    total: Decimal

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": [
                {"sku": ln.sku, "name": ln.name, "quantity": ln.quantity, "total": str(ln.total)} for ln in self.lines
            ],
            "subtotal": str(self.subtotal),
            "coupon_discount": str(self.coupon_discount),
            "vat": str(self.vat),
            "total": str(self.total),
        }


def price_line(item: LineItem) -> PricedLine:
    product = catalog.get_product(item.sku)
    gross = product.unit_price * item.quantity
    discount = discounts.volume_discount(product.unit_price, item.quantity)
    return PricedLine(
        sku=product.sku,
        name=product.name,
        quantity=item.quantity,
        unit_price=product.unit_price,
        discount=discount,
        total=gross - discount,
        tax_class=product.tax_class,
    )


def price_order(order: OrderRequest) -> Quote:
    log.info("pricing %d line(s) for %s, coupon %s", len(order.items), order.country, order.coupon or "none")
    lines = [price_line(item) for item in order.items]
    subtotal = sum((ln.total for ln in lines), Decimal("0"))
    coupon = discounts.coupon_discount(order.coupon, subtotal)
    # The coupon is spread over the lines in proportion to their totals, so each line is taxed
    # at its own rate on what the customer actually pays for it.
    vat = Decimal("0")
    for ln in lines:
        share = coupon * ln.total / subtotal if subtotal else Decimal("0")
        vat += tax.vat(ln.total - share, order.country, ln.tax_class)
    total = subtotal - coupon + vat
    return Quote(lines=lines, subtotal=subtotal, coupon_discount=coupon, vat=vat, total=total)
