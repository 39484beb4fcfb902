"""The installment-plan request that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case billing-installments` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory and
`wsgi_request` (a gunicorn-like WSGI environ builder from evals/recorder.py) in scope.
"""

import logging

from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from billing.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
PORTAL = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Accept": "application/json",
    "Referer": "https://billing.example.com/portal/invoices/INV-2026-0117",
}

status, _, error = wsgi_request(app, "GET", "/health", host="billing.example.com")
assert status == 200 and error is None
# A plan that divides evenly: fine.
status, _, error = wsgi_request(
    app, "POST", "/installment-plans", host="billing.example.com", headers=PORTAL,
    json_body={"invoice": "INV-2026-0117", "installments": 4, "first_due": "2026-04-01"},
)
assert status == 201 and error is None, error
# 599.80 EUR in three installments: 3 x 199.93 is 599.79.
status, _, error = wsgi_request(
    app, "POST", "/installment-plans", host="billing.example.com",
    headers={**PORTAL, "Referer": "https://billing.example.com/portal/invoices/INV-2026-0142"},
    json_body={"invoice": "INV-2026-0142", "installments": 3, "first_due": "2026-04-01"},
)
assert type(error).__name__ == "ScheduleError", f"expected the ScheduleError crash, got {status} {error!r}"
