"""Message catalogs and lookup with locale fallback."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("tinyi18n")

Catalog = Mapping[str, str]


def load_catalogs(directory: Path) -> dict[str, dict[str, str]]:
    """`{locale: {key: message}}` from `<directory>/<locale>.json` files."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))}


def parent_locale(locale: str) -> str | None:
    """`de-AT` → `de`; a bare language has no parent."""
    return locale.split("-", 1)[0] if "-" in locale else None


class Translator:
    def __init__(self, catalogs: Mapping[str, Catalog], default_locale: str = "en") -> None:
        if default_locale not in catalogs:
            raise ValueError(f"no catalog for the default locale {default_locale!r}")
        self.catalogs = catalogs
        self.default_locale = default_locale

    def resolve_locale(self, requested: str | None) -> str:
        """The best catalog for a requested locale: itself, its language, else the default."""
        candidate = (requested or "").strip().replace("_", "-")
        while candidate:
            if candidate in self.catalogs:
                return candidate
            candidate = parent_locale(candidate) or ""
        return self.default_locale

    def lookup(self, locale: str, key: str) -> str:
        """The message for `key` in `locale`'s catalog; keys a catalog lacks fall back to the
        default locale's message, so half-translated catalogs never break a send."""
        return self.catalogs[locale][key]

    def gettext(self, locale: str | None, key: str, **params: object) -> str:
        message = self.lookup(self.resolve_locale(locale), key)
        return message.format(**params) if params else message
