"""The outbox flush that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case relay-order-json` in a child process with sentry-sdk
and the case's requirements.txt (pydantic 1.10), after `sentry_sdk.init(...)`, with a copy of
repo/ as the working directory; `run_as_main` reports the crash through sys.excepthook, as an
uncaught exception of the `relay-outbox` cron job.
"""

import json
from pathlib import Path

from relay.cli import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

outbox = Path("outbox.jsonl")
records = [
    {"type": "order.cancelled", "data": {"order_id": "A-88190", "reason": "customer request"}},
    {"type": "order.placed", "data": {
        "order_id": "A-88213", "placed_at": "2026-03-05T09:14:03+00:00", "currency": "EUR",
        "items": [{"sku": "TEE-ORG-M", "quantity": 2, "unit_price": "24.00"},
                  {"sku": "MUG-BLUE-350", "quantity": 1, "unit_price": "19.90"}]}},
]
outbox.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
error = run_as_main(main, ["--outbox", str(outbox)])
assert isinstance(error, TypeError), f"expected the TypeError crash, got {error!r}"
