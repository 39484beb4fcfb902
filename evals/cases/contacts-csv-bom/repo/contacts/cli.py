"""`contacts-import FILE --store contacts.json`"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from contacts.importer import import_file
from contacts.reader import UploadError
from contacts.store import ContactStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="contacts-import")
    parser.add_argument("file", type=Path)
    parser.add_argument("--store", type=Path, default=Path("contacts.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = ContactStore(args.store)
    try:
        summary = import_file(args.file, store)
    except UploadError as exc:
        print(f"cannot import {args.file}: {exc}")
        return 2
    store.save()
    print(summary.as_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
