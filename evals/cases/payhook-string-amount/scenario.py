"""The webhook deliveries that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case payhook-string-amount` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory and
`wsgi_request` (a gunicorn-like WSGI environ builder from evals/recorder.py) in scope.
"""

import json
import logging
import time

from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from payhook.api import SECRET, application
from payhook.signature import sign

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
HOST = "payhook.example.com"


def deliver(event: dict) -> tuple:
    body = json.dumps(event).encode()
    headers = {
        "User-Agent": "PaymentProvider-Webhooks/2.3 (+https://provider.example.net/docs/webhooks)",
        "Payhook-Signature": sign(SECRET, body, int(time.time())),
        "Content-Type": "application/json",
    }
    return wsgi_request(app, "POST", "/webhooks/payments", body=body, headers=headers, host=HOST,
                        remote_addr="198.51.100.40")


status, _, error = deliver({"id": "evt_1Q8mZk", "type": "customer.updated", "created": 1774871400,
                            "data": {"customer": "cus_41"}})
assert status == 200 and error is None, error
status, _, error = deliver({
    "id": "evt_1Q8n3T", "type": "payment.succeeded", "created": 1774872000,
    "data": {"payment": "pay_7RkQ2v", "invoice": "INV-2026-0311", "amount": {"value": "49.90", "currency": "EUR"}},
})
assert isinstance(error, TypeError), f"expected the TypeError crash, got {status} {error!r}"
