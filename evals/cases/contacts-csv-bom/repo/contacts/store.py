"""The contact store: a JSON file keyed by e-mail address (the CRM syncs it nightly)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from contacts.model import Contact


class ContactStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._contacts: dict[str, Contact] = {}
        if path.exists():
            for raw in json.loads(path.read_text(encoding="utf-8")):
                contact = Contact(**{**raw, "tags": tuple(raw.get("tags", ()))})
                self._contacts[contact.email] = contact

    def upsert(self, contact: Contact) -> bool:
        """Insert or replace; True when the contact is new."""
        new = contact.email not in self._contacts
        self._contacts[contact.email] = contact
        return new

    def __len__(self) -> int:
        return len(self._contacts)

    def get(self, email: str) -> Contact | None:
        return self._contacts.get(email.lower())

    def save(self) -> None:
        data = [asdict(c) for c in sorted(self._contacts.values(), key=lambda c: c.email)]
        self.path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
