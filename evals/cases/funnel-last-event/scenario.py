"""The nightly funnel report that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case funnel-last-event` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` (evals/recorder.py) reports the crash through sys.excepthook, as an uncaught
exception of the cron job.
"""

import json
from pathlib import Path

from funnel.cli import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

clicks = [
    ("c-1842", "10:02:11", "view"), ("c-1842", "10:03:40", "cart"), ("c-1842", "10:05:02", "checkout"),
    ("c-1842", "10:06:15", "payment"), ("c-2210", "11:14:09", "view"), ("c-2210", "11:15:30", "search"),
    ("c-3307", "12:40:00", "view"), ("c-3307", "12:41:12", "cart"), ("c-3307", "12:42:55", "checkout"),
    ("c-3307", "12:43:20", "view"), ("c-3307", "12:49:01", "checkout"), ("c-3307", "12:50:45", "payment"),
    # The last customer of the day reached the payment page and closed the tab.
    ("c-4051", "23:51:30", "view"), ("c-4051", "23:53:02", "cart"), ("c-4051", "23:58:47", "checkout"),
]
Path("clickstream-2026-03-30.jsonl").write_text(
    "".join(json.dumps({"user": u, "ts": f"2026-03-30T{t}Z", "kind": k}) + "\n" for u, t, k in clicks)
)
error = run_as_main(main, ["clickstream-2026-03-30.jsonl"])
assert isinstance(error, IndexError), f"expected the IndexError crash, got {error!r}"
