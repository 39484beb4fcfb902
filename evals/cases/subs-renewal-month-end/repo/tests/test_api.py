def test_health(client) -> None:
    assert client("GET", "/health") == (200, {"status": "ok"})


def test_unknown_subscription_is_404(client) -> None:
    assert client("GET", "/subscriptions/1/renewals")[0] == 404


def test_bad_months_is_400(client) -> None:
    assert client("GET", "/subscriptions/7101/renewals", "months=lots")[0] == 400
    assert client("GET", "/subscriptions/7101/renewals", "months=99")[0] == 400


def test_renewals_of_a_mid_month_subscription(client) -> None:
    status, body = client("GET", "/subscriptions/7101/renewals", "months=2")
    assert status == 200
    assert body == {"subscription": 7101, "plan": "team", "renewals": ["2026-01-12", "2026-02-12"]}


def test_renewals_of_a_subscription_started_on_the_31st(client) -> None:
    status, body = client("GET", "/subscriptions/7140/renewals", "months=4")
    assert status == 200
    assert body["renewals"] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
