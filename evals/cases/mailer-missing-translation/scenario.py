"""The e-mail send loop that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case mailer-missing-translation` in a child process
with sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` (evals/recorder.py) reports the crash through sys.excepthook, as an uncaught
exception of the outbox worker.
"""

import json
import logging
from pathlib import Path

from mailer.outbox import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
jobs = [
    {"kind": "order_confirmed", "to": "sam.taylor@example.co.uk", "locale": "en-GB",
     "params": {"name": "Sam", "order": "SO-88410"}},
    {"kind": "order_shipped", "to": "sam.taylor@example.co.uk", "locale": "en-GB",
     "params": {"name": "Sam", "order": "SO-88391", "carrier": "Royal Mail", "url": "https://track.example.com/RM88391"}},
    {"kind": "order_shipped", "to": "j.huber@example.at", "locale": "de-AT",
     "params": {"name": "Julia", "order": "SO-88402", "carrier": "Post.at", "url": "https://track.example.com/AT88402"}},
]
Path("outbox-batch-3381.jsonl").write_text("".join(json.dumps(j, ensure_ascii=False) + "\n" for j in jobs))
error = run_as_main(main, "outbox-batch-3381.jsonl")
assert isinstance(error, KeyError), f"expected the KeyError crash, got {error!r}"
