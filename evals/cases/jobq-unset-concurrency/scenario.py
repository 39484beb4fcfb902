"""The worker start-up that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case jobq-unset-concurrency` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` (evals/recorder.py) reports the crash through sys.excepthook, as an uncaught
exception of the `jobq-worker` process.
"""

import os

from jobq.cli import main
from jobq.queue import Job

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

# The Helm chart's environment: only what differs from the README's defaults.
os.environ.pop("JOBQ_CONCURRENCY", None)
os.environ.update({"JOBQ_QUEUE": "thumbnails", "JOBQ_MAX_ATTEMPTS": "5"})
backlog = [Job("img_7Hq2", {"image": "uploads/2026/03/7Hq2.jpg", "size": 320}),
           Job("img_7Hq3", {"image": "uploads/2026/03/7Hq3.png"})]
error = run_as_main(main, ["--once"], backlog=backlog)
assert isinstance(error, TypeError), f"expected the TypeError crash, got {error!r}"
