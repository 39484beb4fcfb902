from decimal import Decimal


def test_health(client) -> None:
    assert client("GET", "/health") == (200, {"status": "ok"})


def test_unknown_invoice_is_404(client) -> None:
    status, body = client("POST", "/installment-plans", {"invoice": "INV-0", "installments": 3})
    assert status == 404


def test_plan_for_even_total(client) -> None:
    status, body = client("POST", "/installment-plans", {"invoice": "INV-2026-0117", "installments": 2, "first_due": "2026-04-01"})
    assert status == 201
    assert body["installments"] == [{"due": "2026-04-01", "amount": "714.00"}, {"due": "2026-05-01", "amount": "714.00"}]


def test_plan_for_total_not_divisible_by_installments(client) -> None:
    status, body = client("POST", "/installment-plans", {"invoice": "INV-2026-0142", "installments": 3, "first_due": "2026-04-01"})
    assert status == 201, body
    amounts = [Decimal(i["amount"]) for i in body["installments"]]
    assert len(amounts) == 3 and sum(amounts) == Decimal(body["total"]) == Decimal("599.80")
