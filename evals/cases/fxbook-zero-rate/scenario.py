"""The daily FX booking that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case fxbook-zero-rate` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` (evals/recorder.py) reports the crash through sys.excepthook, as an uncaught
exception of the nightly `fxbook` job.
"""

import json
from pathlib import Path

from fxbook.cli import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

Path("sales-2026-03-29.csv").write_text(
    "order,currency,amount\n"
    "SO-90211,USD,249.00\nSO-90214,GBP,54.90\nSO-90219,JPY,18400\nSO-90230,USD,19.99\nSO-90244,JPY,7200\n"
)
# The partner's feed for the day, as published: the JPY fixing came through as zero.
Path("rates-2026-03-29.json").write_text(json.dumps({
    "date": "2026-03-29", "source": "treasury-partner", "published": "2026-03-29T16:05:11Z",
    "rates": {"USD": "1.0812", "GBP": "0.8394", "JPY": "0.0000", "CHF": "0.9517"},
}))
error = run_as_main(main, ["2026-03-29", "--sales", "sales-2026-03-29.csv", "--rates", "rates-2026-03-29.json"])
assert isinstance(error, ZeroDivisionError), f"expected the division crash, got {error!r}"
