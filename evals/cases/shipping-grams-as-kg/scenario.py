"""The checkout's shipping quote that crashed in production, under the real Sentry SDK.

Run by `python -m evals.record_cases --case shipping-grams-as-kg` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory and
`wsgi_request` (a gunicorn-like WSGI environ builder from evals/recorder.py) in scope.
"""

import logging

from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from shipping.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
CHECKOUT = {"User-Agent": "shop-checkout/2.4.0 python-httpx/0.28.1", "Accept": "application/json",
            "X-Request-Id": "4c1f9e27-0a3b-4d52-8f6e-9b2d7c1a5e30"}

status, _, error = wsgi_request(app, "GET", "/health", host="shipping.internal")
assert status == 200 and error is None
status, _, error = wsgi_request(app, "POST", "/shipping-quote", host="shipping.internal", headers=CHECKOUT,
                                json_body={"items": [{"sku": "GIFT-99"}], "country": "DE"})
assert status == 400 and error is None, error
status, _, error = wsgi_request(
    app, "POST", "/shipping-quote", host="shipping.internal", headers=CHECKOUT,
    json_body={"items": [{"sku": "MUG-01", "qty": 2}, {"sku": "TEE-02", "qty": 1}], "country": "FR"},
)
assert type(error).__name__ == "NoRate", f"expected the NoRate crash, got {status} {error!r}"
