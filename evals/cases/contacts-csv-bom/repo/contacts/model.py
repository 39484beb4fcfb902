"""The contact record and its validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidRow(ValueError):
    """One row is unusable; the import skips it and reports the reason."""


@dataclass(frozen=True)
class Contact:
    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email


def row_to_contact(row: Mapping[str, str]) -> Contact:
    """A validated Contact from one CSV row (header names already normalised)."""
    email = row["email"].strip().lower()
    if not _EMAIL_RE.match(email):
        raise InvalidRow(f"not an e-mail address: {email!r}")
    tags = tuple(sorted({t.strip().lower() for t in row.get("tags", "").split(";") if t.strip()}))
    return Contact(
        email=email,
        first_name=row.get("first_name", "").strip(),
        last_name=row.get("last_name", "").strip(),
        company=row.get("company", "").strip(),
        tags=tags,
    )
