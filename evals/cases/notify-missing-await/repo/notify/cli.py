"""`notify-worker EVENTS.jsonl`: notify every shipment in the export."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from notify.senders import Outbox
from notify.store import PreferenceStore
from notify.worker import run_batch

PREFERENCES = {
    "cus_8812": {"channels": ["email", "sms"], "language": "de"},
    "cus_1207": {"channels": ["sms"], "language": "en"},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="notify-worker")
    parser.add_argument("events", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    outbox = Outbox()
    sent = asyncio.run(run_batch(args.events.read_text(encoding="utf-8").splitlines(), PreferenceStore(PREFERENCES), outbox))
    print(f"{sent} notification(s) sent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
