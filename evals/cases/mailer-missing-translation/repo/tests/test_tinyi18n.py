import pytest

from tinyi18n import Translator

CATALOGS = {"en": {"hi": "Hello {name}", "bye": "Bye"}, "de": {"hi": "Hallo {name}", "bye": "Tschüss"}, "de-AT": {"hi": "Servus {name}"}}


def test_default_locale_must_exist() -> None:
    with pytest.raises(ValueError):
        Translator({"de": {}})


@pytest.mark.parametrize(("requested", "resolved"), [
    ("de-AT", "de-AT"), ("de_CH", "de"), ("fr-FR", "en"), (None, "en"), ("", "en"),
])
def test_resolve_locale(requested, resolved) -> None:
    assert Translator(CATALOGS).resolve_locale(requested) == resolved


def test_gettext_formats_params() -> None:
    assert Translator(CATALOGS).gettext("de", "hi", name="Ana") == "Hallo Ana"


def test_key_missing_from_a_locale_falls_back_to_the_default() -> None:
    assert Translator(CATALOGS).gettext("de-AT", "bye") in ("Tschüss", "Bye")
    assert Translator({"en": {"new": "New"}, "de": {}}).gettext("de", "new") == "New"
