"""Turning request payloads into order requests.

Orders arrive as JSON from the web shop (`POST /orders`) and as query strings from the product
page's price preview (`GET /quote`). Both go through `_parse_line`, so validation lives in one
place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_COUNTRY = "DE"
MAX_LINES = 50


class OrderError(ValueError):
    """The request is malformed; the API answers 400 with this message."""


@dataclass(frozen=True)
class LineItem:
    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderRequest:
    items: list[LineItem] = field(default_factory=list)
    coupon: str | None = None
    country: str = DEFAULT_COUNTRY


def _is_positive_int(value: Any) -> bool:
    """Quantities come as JSON numbers from the web shop, but as text from query strings."""
    if isinstance(value, bool):
        return False
    try:
        return int(str(value).strip()) >= 1
    except ValueError:
        return False


def _parse_line(raw: Mapping[str, Any], index: int) -> LineItem:
    sku = raw.get("sku")
    if not isinstance(sku, str) or not sku.strip():
        raise OrderError(f"items[{index}].sku is required")
    quantity = raw.get("quantity", 1)
    if not _is_positive_int(quantity):
        raise OrderError(f"items[{index}].quantity must be a positive whole number, got {quantity!r}")
    return LineItem(sku=sku.strip().upper(), quantity=quantity)


def _country(raw: Any) -> str:
    if raw is None:
        return DEFAULT_COUNTRY
    if not isinstance(raw, str) or len(raw.strip()) != 2:
        raise OrderError("country must be a two-letter ISO code")
    return raw.strip().upper()


def _coupon(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise OrderError("coupon must be a string")
    return raw.strip().upper()


def parse_order(payload: Any) -> OrderRequest:
    """The JSON body of `POST /orders`."""
    if not isinstance(payload, Mapping):
        raise OrderError("the body must be a JSON object")
    items = payload.get("items")
    if not isinstance(items, list) or not items:
        raise OrderError("items must be a non-empty list")
    if len(items) > MAX_LINES:
        raise OrderError(f"at most {MAX_LINES} lines per order")
    lines = []
    for index, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            raise OrderError(f"items[{index}] must be an object")
        lines.append(_parse_line(raw, index))
    return OrderRequest(items=lines, coupon=_coupon(payload.get("coupon")), country=_country(payload.get("country")))


def parse_quote_query(query: Mapping[str, list[str]]) -> OrderRequest:
    """The query string of `GET /quote` (as `urllib.parse.parse_qs` returns it): one item."""

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    line = {"sku": first("sku"), "quantity": first("quantity") or 1}
    return OrderRequest(items=[_parse_line(line, 0)], coupon=_coupon(first("coupon")), country=_country(first("country")))
