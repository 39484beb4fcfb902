"""A SKU's stock level: immutable, so a level handed out is never changed under its reader."""

from __future__ import annotations

import attrs


@attrs.frozen
class StockLevel:
    sku: str
    on_hand: int = attrs.field(validator=attrs.validators.ge(0))
    reserved: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def as_dict(self) -> dict[str, object]:
        return {"sku": self.sku, "on_hand": self.on_hand, "reserved": self.reserved, "available": self.available}
