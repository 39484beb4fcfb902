"""The nightly prune that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case backup-rotation-stray-file` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` reports the crash through sys.excepthook, as an uncaught exception of the job.
"""

import os
from datetime import date, timedelta
from pathlib import Path

from rotate.__main__ import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

volume = Path("backups")
volume.mkdir()
today = date.today()
for n in range(45):
    (volume / f"db-{today - timedelta(days=n)}.sql.gz").write_bytes(b"\x1f\x8b dump")
(volume / f"db-{today}.sql.gz.sha256").write_text(f"e3b0c442  db-{today}.sql.gz\n")
os.symlink(f"db-{today}.sql.gz", volume / "db-latest.sql.gz")  # what ops added for restores
error = run_as_main(main, [str(volume)])
assert isinstance(error, ValueError), f"expected the ValueError crash, got {error!r}"
