"""The nightly facility-feed merge that crashed in production, under the real Sentry SDK.

Run by `python -m evals.record_cases --case rooms-naive-datetime` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory;
`run_as_main` (evals/recorder.py) reports the crash through sys.excepthook, as an uncaught
exception of the `rooms-sync` cron job.
"""

import json
from pathlib import Path

from rooms.cli import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

# The calendar as the web app left it: bookings made through the API, stored in UTC.
Path("calendar.json").write_text(json.dumps([
    {"room": "Aurora", "start": "2026-03-30T07:00:00+00:00", "end": "2026-03-30T08:00:00+00:00",
     "title": "Sprint planning", "source": "web"},
    {"room": "Borealis", "start": "2026-03-30T12:00:00+00:00", "end": "2026-03-30T13:00:00+00:00",
     "title": "Interview: backend engineer", "source": "web"},
], indent=2))
# Tonight's export from the facility-management system: timestamps without an offset.
Path("facility-2026-03-30.txt").write_text(
    "# facility export 2026-03-29T23:00\n"
    "Aurora;2026-03-30T05:30:00;2026-03-30T06:30:00;Cleaning\n"
    "Borealis;2026-03-30T14:00:00;2026-03-30T15:00:00;Projector repair\n"
)
error = run_as_main(main, ["facility-2026-03-30.txt", "--calendar", "calendar.json"])
assert isinstance(error, TypeError), f"expected the TypeError crash, got {error!r}"
