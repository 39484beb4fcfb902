"""One import run: read the upload, validate every row, upsert into the store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from contacts.model import InvalidRow, row_to_contact
from contacts.reader import read_rows
from contacts.store import ContactStore

log = logging.getLogger("contacts.importer")


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # "row 7: reason"

    def as_text(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {len(self.skipped)} skipped"
        return "\n".join([text, *self.skipped])


def import_file(path: Path, store: ContactStore) -> ImportSummary:
    summary = ImportSummary()
    rows = read_rows(path.read_bytes())
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            contact = row_to_contact(row)
        except InvalidRow as exc:
            summary.skipped.append(f"row {number}: {exc}")
            continue
        if store.upsert(contact):
            summary.created += 1
        else:
            summary.updated += 1
    log.info("imported %s: %d created, %d updated", path.name, summary.created, summary.updated)
    return summary
