"""`python -m rotate FOLDER [--dry-run]`: delete the dumps the policy does not keep."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from rotate.files import list_dumps
from rotate.policy import keep

log = logging.getLogger("rotate")


def prune(folder: Path, today: date, dry_run: bool = False) -> list[Path]:
    """Delete (or, dry, only list) the dumps the policy does not keep; the paths concerned."""
    dumps = list_dumps(folder)
    kept = keep(dumps, today)
    doomed = [path for day, path in sorted(dumps.items()) if day not in kept]
    for path in doomed:
        log.info("%s %s", "would delete" if dry_run else "deleting", path.name)
        if not dry_run:
            path.unlink()
    return doomed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rotate")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    prune(args.folder, date.today(), args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
