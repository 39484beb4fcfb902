"""`rooms-sync FEED --calendar calendar.json`: the nightly facility-feed merge."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rooms.bookings import Calendar
from rooms.sync import sync_feed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rooms-sync")
    parser.add_argument("feed", type=Path)
    parser.add_argument("--calendar", type=Path, default=Path("calendar.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    calendar = Calendar.load(args.calendar)
    report = sync_feed(args.feed.read_text(encoding="utf-8").splitlines(), calendar)
    calendar.save(args.calendar)
    print(f"{report.added} added, {len(report.conflicts)} conflicts")
    for line in report.conflicts:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
