from datetime import date

from accounts.serializers import member_since


def test_member_since() -> None:
    today = date(2026, 3, 30)
    assert member_since(date(2026, 3, 2), today) == "joined this month"
    assert member_since(date(2026, 2, 1), today) == "member for 1 month"
    assert member_since(date(2025, 6, 1), today) == "member for 9 months"
    assert member_since(date(2021, 5, 3), today) == "member since 2021"


def test_profile_shows_city_and_country_only(client) -> None:
    status, body = client("GET", "/users/1001/profile")
    assert status == 200
    assert body["location"] == "Leipzig, Germany"
    assert "street" not in json_text(body)
    assert body["badges"] == ["early-adopter", "mentor"]


def test_unknown_user_is_404(client) -> None:
    assert client("GET", "/users/9/profile")[0] == 404


def test_settings_are_private(client) -> None:
    assert client("GET", "/users/1002/settings")[0] == 403
    status, body = client("GET", "/users/1002/settings", {"X-User-Id": "1002"})
    assert status == 200 and body["address"]["city"] == "bristol"


def test_settings_of_sso_user(client) -> None:
    status, body = client("GET", "/users/2417/settings", {"X-User-Id": "2417"})
    assert status == 200 and body["address"] is None and body["signup"] == "sso"


def test_profile_of_sso_user_without_address(client) -> None:
    status, body = client("GET", "/users/2417/profile")
    assert status == 200
    assert body["display_name"] == "Johan Lindqvist"
    assert body["location"] in (None, "")  # nothing to show; the card hides the line


def json_text(body: object) -> str:
    import json

    return json.dumps(body)
