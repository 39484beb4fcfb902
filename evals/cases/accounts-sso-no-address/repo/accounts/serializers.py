"""What the API shows of a user."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.users import User

COUNTRY_NAMES = {"DE": "Germany", "GB": "United Kingdom", "SE": "Sweden", "FR": "France"}


def member_since(joined: date, today: date) -> str:
    months = (today.year - joined.year) * 12 + today.month - joined.month
    if months < 1:
        return "joined this month"
    if months < 12:
        return f"member for {months} month{'s' if months != 1 else ''}"
    return f"member since {joined.year}"


def profile_payload(user: User, today: date) -> dict[str, Any]:
    """The public profile card. Only the city and country are public, never the street."""
    return {
        "username": user.username,
        "display_name": user.full_name or user.username,
        "location": f"{user.address.city.title()}, {COUNTRY_NAMES.get(user.address.country, user.address.country)}",
        "member_since": member_since(user.joined, today),
        "badges": list(user.badges),
    }


def settings_payload(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "signup": user.signup,
        "address": None if user.address is None else {
            "street": user.address.street, "city": user.address.city,
            "postcode": user.address.postcode, "country": user.address.country,
        },
    }
