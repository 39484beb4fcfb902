"""A tiny message-catalog library: `Translator(catalogs).gettext(locale, key, **params)`."""

from tinyi18n.catalog import Translator, load_catalogs

__all__ = ["Translator", "load_catalogs"]
