"""`fxbook DAY --sales FILE --rates FILE`: book one day's sales."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from fxbook.feed import FeedError, load_rates
from fxbook.ledger import Journal, book_day, read_sales


def run_day(day: str, sales_csv: str, rates_json: str, journal: Journal) -> int:
    rates = load_rates(rates_json, day)
    entries = book_day(day, read_sales(sales_csv), rates, journal)
    return len(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fxbook")
    parser.add_argument("day")
    parser.add_argument("--sales", type=Path, required=True)
    parser.add_argument("--rates", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    journal = Journal()
    try:
        booked = run_day(args.day, args.sales.read_text(encoding="utf-8"), args.rates.read_text(encoding="utf-8"), journal)
    except FeedError as exc:
        print(f"{args.day}: not booked, the rate feed is unusable: {exc}")
        return 2
    print(f"{args.day}: {booked} journal entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
