"""`relay-outbox`: flush the outbox to the partner (run every minute by cron)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from relay.outbox import flush

log = logging.getLogger("relay")


def print_transport(payload: bytes) -> None:
    """Stand-in for the partner's HTTPS client: one payload per line on stdout."""
    sys.stdout.write(payload.decode() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay-outbox")
    parser.add_argument("--outbox", type=Path, default=Path("outbox.jsonl"))
    args = parser.parse_args(argv)
    sent = flush(args.outbox, print_transport)
    log.info("sent %d event(s)", sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
