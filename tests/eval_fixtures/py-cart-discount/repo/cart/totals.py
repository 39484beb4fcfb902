"""Shopping-cart totals."""

PRICES = {"apple": 3.0, "pear": 4.5, "fig": 1.25}


def line_total(item: dict) -> float:
    return PRICES[item["sku"]] * item["qty"]


def apply_discount(total: float, discounts: dict | None = None) -> float:
    percent = discounts.get("percent", 0)
    return round(total * (1 - percent / 100), 2)


def cart_total(items: list[dict], discounts: dict | None = None) -> float:
    subtotal = sum(line_total(item) for item in items)
    return apply_discount(subtotal, discounts)
