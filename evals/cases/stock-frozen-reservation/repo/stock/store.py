"""Where levels live (a dict here; Redis in production, with the same get/put contract)."""

from __future__ import annotations

import threading

from stock.levels import StockLevel


class UnknownSku(Exception):
    pass


class Store:
    def __init__(self, levels: list[StockLevel]) -> None:
        self._levels = {level.sku: level for level in levels}
        self.lock = threading.Lock()

    def get(self, sku: str) -> StockLevel:
        try:
            return self._levels[sku]
        except KeyError:
            raise UnknownSku(sku) from None

    def put(self, level: StockLevel) -> None:
        self._levels[level.sku] = level


def demo_store() -> Store:
    return Store([
        StockLevel("MUG-BLUE-350", on_hand=40, reserved=6),
        StockLevel("TEE-ORG-M", on_hand=12),
        StockLevel("POSTER-A2-FJORD", on_hand=3, reserved=3),
    ])
