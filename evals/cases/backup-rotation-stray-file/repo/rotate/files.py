"""Dump files on the backup volume and their dates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

PREFIX, SUFFIX = "db-", ".sql.gz"


def dump_date(name: str) -> date:
    """`db-2026-03-01.sql.gz` → 2026-03-01."""
    stamp = name.removeprefix(PREFIX).removesuffix(SUFFIX)
    return datetime.strptime(stamp, "%Y-%m-%d").date()


def list_dumps(folder: Path) -> dict[date, Path]:
    """The dumps in `folder` by date (the README: anything else there is left alone)."""
    dumps: dict[date, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(PREFIX) and path.name.endswith(SUFFIX):
            dumps[dump_date(path.name)] = path
    return dumps
