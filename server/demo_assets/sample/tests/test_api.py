from __future__ import annotations


def test_health(client):
    assert client("GET", "/health").body == {"status": "ok"}


def test_create_order(client):
    res = client("POST", "/orders", body={"items": [{"sku": "MUG-01", "quantity": 2}, {"sku": "book-04"}]})
    assert res.status == 201
    # 2 x 12.50 + 31.00 = 56.00; VAT 25.00 * 19% + 31.00 * 7% = 4.75 + 2.17
    assert res.body["subtotal"] == "56.00"
    assert res.body["vat"] == "6.92"
    assert res.body["total"] == "62.92"


def test_create_order_rejects_bad_quantity(client):
    res = client("POST", "/orders", body={"items": [{"sku": "MUG-01", "quantity": 0}]})
    assert res.status == 400
    assert "quantity" in res.body["error"]


def test_unknown_product_is_a_client_error(client):
    res = client("POST", "/orders", body={"items": [{"sku": "NOPE-99", "quantity": 1}]})
    assert res.status == 400
    assert res.body == {"error": "unknown product 'NOPE-99'"}


def test_unknown_route(client):
    assert client("GET", "/admin").status == 404


def test_quote_from_query_string(client):
    # The product page's price preview sends everything as query parameters.
    res = client("GET", "/quote", query="sku=MUG-01&quantity=2&coupon=SPRING10&country=DE")
    assert res.status == 200
    # 2 x 12.50 = 25.00, minus 10% = 22.50, plus 19% VAT (4.28)
    assert res.body["subtotal"] == "25.00"
    assert res.body["coupon_discount"] == "2.50"
    assert res.body["total"] == "26.78"
