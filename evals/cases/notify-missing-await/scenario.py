"""The notification run that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case notify-missing-await` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` (evals/recorder.py) reports the crash through sys.excepthook, as an uncaught
exception of the `notify-worker` process.
"""

import json
from pathlib import Path

from notify.cli import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

shipments = [
    {"order": "SO-55120", "customer_id": "cus_8812", "name": "Lena", "email": "lena.k@example.de",
     "phone": "+49 151 5550192", "carrier": "DHL", "tracking_url": "https://track.example.com/JD0146000043"},
    {"order": "SO-55121", "customer_id": "cus_3390", "name": "Omar", "email": "omar@example.com",
     "phone": None, "carrier": "UPS", "tracking_url": "https://track.example.com/1Z999AA10123456784"},
]
Path("shipped-2026-03-30T1400.jsonl").write_text("".join(json.dumps(s) + "\n" for s in shipments))
error = run_as_main(main, ["shipped-2026-03-30T1400.jsonl"])
assert isinstance(error, TypeError), f"expected the TypeError crash, got {error!r}"
