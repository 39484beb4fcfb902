"""The events the shop emits (pydantic 1.10 models: validation at the outbox's edge)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Union

from pydantic import BaseModel, Field, validator


class Event(BaseModel):
    TYPE: ClassVar[str]

    class Config:
        extra = "forbid"


class LineItem(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class OrderPlaced(Event):
    TYPE: ClassVar[str] = "order.placed"

    order_id: str
    placed_at: datetime
    currency: str = Field(regex=r"^[A-Z]{3}$")
    items: list[LineItem] = Field(min_items=1)

    @validator("placed_at")
    def _aware(cls, value: datetime) -> datetime:  # noqa: N805 (pydantic's validator signature)
        if value.tzinfo is None:
            raise ValueError("placed_at needs an offset")
        return value


class OrderCancelled(Event):
    TYPE: ClassVar[str] = "order.cancelled"

    order_id: str
    reason: str


EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in (OrderPlaced, OrderCancelled)}
AnyEvent = Union[OrderPlaced, OrderCancelled]


def parse_event(record: dict[str, object]) -> Event:
    """An outbox record (`{"type": ..., "data": {...}}`) as its event model."""
    kind = record.get("type")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    return EVENT_TYPES[str(kind)].parse_obj(record.get("data"))
