import attrs
import pytest

from stock.levels import StockLevel


def test_available_is_on_hand_minus_reserved() -> None:
    assert StockLevel("MUG-BLUE-350", on_hand=40, reserved=6).available == 34


def test_levels_are_immutable() -> None:
    level = StockLevel("TEE-ORG-M", on_hand=12)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        level.reserved = 3  # type: ignore[misc]


def test_negative_quantities_are_refused() -> None:
    with pytest.raises(ValueError):
        StockLevel("TEE-ORG-M", on_hand=-1)
