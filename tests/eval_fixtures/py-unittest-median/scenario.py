"""The production call behind event.json: the status page's quiet minute (no requests).

Run by `python -m evals.recorder record --project repo --scenario scenario.py ...` under the
real Sentry SDK (a scratch venv); the IndexError is reported as the framework would.
"""

import sentry_sdk
from stats.median import median

try:
    median([])
except Exception as exc:  # what the web framework's integration would do
    sentry_sdk.capture_exception(exc)
