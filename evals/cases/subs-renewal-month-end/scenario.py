"""The renewals request that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case subs-renewal-month-end` in a child process with
sentry-sdk and the case's requirements.txt (python-dateutil), after `sentry_sdk.init(...)`, with
a copy of repo/ as the working directory and `wsgi_request` in scope.
"""

import logging

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from subs.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Accept": "application/json",
    "Referer": "https://billing.example.com/account/subscription",
}
HOST = "billing.example.com"

status, _, error = wsgi_request(app, "GET", "/subscriptions/7101/renewals", query="months=6", headers=BROWSER,
                                host=HOST)
assert status == 200 and error is None, error
# The customer who subscribed on 31 January opens her billing calendar.
sentry_sdk.set_user({"id": "7140"})
status, _, error = wsgi_request(app, "GET", "/subscriptions/7140/renewals", query="months=6", headers=BROWSER,
                                host=HOST)
assert type(error).__name__ == "ScheduleError", f"expected the ScheduleError crash, got {status} {error!r}"
