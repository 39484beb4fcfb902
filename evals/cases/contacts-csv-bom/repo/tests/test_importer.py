from pathlib import Path

from contacts.cli import main
from contacts.importer import import_file
from contacts.store import ContactStore


def _write(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def test_import_creates_and_updates(tmp_path: Path) -> None:
    store = ContactStore(tmp_path / "store.json")
    path = _write(tmp_path, "email,first_name\nAnna@Example.com,Anna\nbo@example.com,Bo\nanna@example.com,Annie\n")
    summary = import_file(path, store)
    assert (summary.created, summary.updated, summary.skipped) == (2, 1, [])
    assert store.get("anna@example.com").first_name == "Annie"


def test_invalid_rows_are_skipped_with_their_row_number(tmp_path: Path) -> None:
    store = ContactStore(tmp_path / "store.json")
    summary = import_file(_write(tmp_path, "email\nnot-an-address\nok@example.com\n"), store)
    assert summary.created == 1
    assert summary.skipped == ["row 2: not an e-mail address: 'not-an-address'"]


def test_tags_are_split_and_deduplicated(tmp_path: Path) -> None:
    store = ContactStore(tmp_path / "store.json")
    import_file(_write(tmp_path, "email,tags\nt@example.com,VIP; lead;vip\n"), store)
    assert store.get("t@example.com").tags == ("lead", "vip")


def test_cli_saves_the_store(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, "email,company\nc@example.com,Acme\n")
    assert main([str(path), "--store", str(tmp_path / "store.json")]) == 0
    assert "1 created" in capsys.readouterr().out
    assert ContactStore(tmp_path / "store.json").get("c@example.com").company == "Acme"


def test_import_excel_export_with_bom(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" export starts the file with a byte order mark."""
    store = ContactStore(tmp_path / "store.json")
    path = _write(tmp_path, "Email,First Name,Company\nanna@example.com,Anna,Müller GmbH\n", bom=True)
    summary = import_file(path, store)
    assert (summary.created, summary.skipped) == (1, [])
    assert store.get("anna@example.com").company == "Müller GmbH"


def test_excel_export_with_bom_keeps_its_first_column(tmp_path: Path) -> None:
    """Whatever the first column is, Excel's byte order mark must not swallow it."""
    store = ContactStore(tmp_path / "store.json")
    path = _write(tmp_path, "First Name,Email\nAnna,anna@example.com\n", bom=True)
    import_file(path, store)
    assert store.get("anna@example.com").first_name == "Anna"
