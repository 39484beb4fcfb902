"""`python -m funnel.cli EXPORT.jsonl`: print the day's funnel report."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from funnel.events import by_user, parse_events
from funnel.funnel import compute
from funnel.report import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funnel")
    parser.add_argument("export", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    events = parse_events(args.export.read_text(encoding="utf-8").splitlines())
    stats = compute(by_user(events))
    day = args.export.stem.rsplit("-", 3)[-3:]
    print(render("-".join(day), stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
