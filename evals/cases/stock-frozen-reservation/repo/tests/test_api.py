def test_health(client) -> None:
    assert client("GET", "/health") == (200, {"status": "ok"})


def test_stock_level_and_unknown_sku(client) -> None:
    assert client("GET", "/stock/MUG-BLUE-350") == (
        200, {"sku": "MUG-BLUE-350", "on_hand": 40, "reserved": 6, "available": 34})
    assert client("GET", "/stock/NOPE-1")[0] == 404


def test_bad_requests_are_400(client) -> None:
    assert client("POST", "/reservations", {"sku": "TEE-ORG-M"})[0] == 400
    assert client("POST", "/reservations", {"sku": "TEE-ORG-M", "quantity": "2"})[0] == 400
    assert client("POST", "/releases", {"sku": "TEE-ORG-M", "quantity": 1})[0] == 400


def test_sold_out_is_409(client) -> None:
    status, body = client("POST", "/reservations", {"sku": "POSTER-A2-FJORD", "quantity": 1})
    assert (status, body["available"]) == (409, 0)


def test_an_order_reserves_stock(client) -> None:
    status, body = client("POST", "/reservations", {"sku": "TEE-ORG-M", "quantity": 2})
    assert (status, body) == (201, {"sku": "TEE-ORG-M", "on_hand": 12, "reserved": 2, "available": 10})
    assert client("GET", "/stock/TEE-ORG-M")[1]["available"] == 10
