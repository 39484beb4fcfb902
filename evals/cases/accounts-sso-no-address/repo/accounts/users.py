"""Users as the account database stores them (an in-memory stand-in for the ORM models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


class UserNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str
    country: str  # ISO 3166 alpha-2


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    joined: date
    full_name: str = ""
    address: Address | None = None  # SSO sign-ups are never asked for one
    signup: str = "email"  # "email" | "sso"
    badges: tuple[str, ...] = field(default_factory=tuple)


USERS: dict[int, User] = {
    1001: User(1001, "mira", "mira@example.org", date(2021, 5, 3), "Mira Okafor",
               Address("Hauptstr. 4", "leipzig", "04109", "DE"), badges=("early-adopter", "mentor")),
    1002: User(1002, "tkaur", "t.kaur@example.com", date(2023, 11, 20), "Tara Kaur",
               Address("12 Mill Lane", "bristol", "BS1 4DJ", "GB")),
    2417: User(2417, "j.lindqvist", "j.lindqvist@corp.example", date(2026, 3, 2), "Johan Lindqvist",
               signup="sso", badges=("newcomer",)),
}


def get_user(user_id: int) -> User:
    try:
        return USERS[user_id]
    except KeyError:
        raise UserNotFound(user_id) from None
