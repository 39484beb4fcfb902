import pytest

from stock.reservations import OutOfStock, ReservationError, release, reserve


def test_release_gives_units_back(store) -> None:
    level = release(store, "MUG-BLUE-350", 2)
    assert (level.reserved, level.available) == (4, 36)
    assert store.get("MUG-BLUE-350") == level


def test_more_than_available_is_out_of_stock(store) -> None:
    with pytest.raises(OutOfStock):
        reserve(store, "POSTER-A2-FJORD", 1)
    with pytest.raises(ReservationError):
        reserve(store, "TEE-ORG-M", 0)


def test_reserve_holds_the_units(store) -> None:
    level = reserve(store, "TEE-ORG-M", 5)
    assert (level.on_hand, level.reserved, level.available) == (12, 5, 7)
    assert store.get("TEE-ORG-M").reserved == 5
    reserve(store, "TEE-ORG-M", 7)
    with pytest.raises(OutOfStock):
        reserve(store, "TEE-ORG-M", 1)
