"""The production traffic behind the demo's Sentry event, replayed under the real Sentry SDK.

Not imported by autofixer: `python -m evals.recorder demo` runs this file in a child process
with sentry-sdk installed (a scratch venv), after `sentry_sdk.init(...)` with a file-writing
transport, the sample project as the working directory, and `wsgi_request` (a gunicorn-like
WSGI environ builder from evals/recorder.py) in scope.
"""

import logging

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware
from shop.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

# As the deployment does: gunicorn --log-level info, and a region tag set at startup.
logging.basicConfig(level=logging.INFO)
sentry_sdk.set_tag("region", "eu-central-1")
app = SentryWsgiMiddleware(application)

BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Accept": "application/json",
    "Accept-Language": "de-DE,de;q=0.9",
    "Referer": "https://shop.example.com/products/enamel-mug",
    "X-Request-Id": "b8f0c3e2-5d1a-4c7e-9a64-2f1e0d7c9b31",
}

# Ordinary traffic first: the health probe and a checkout from the web shop (JSON numbers).
status, _, error = wsgi_request(app, "GET", "/health")
assert status == 200 and error is None
status, _, error = wsgi_request(
    app, "POST", "/orders", json_body={"items": [{"sku": "TEE-02", "quantity": 1}], "country": "DE"}, headers=BROWSER
)
assert status == 201 and error is None, error

# The product page's price preview: the quantity comes from the query string, as text.
status, _, error = wsgi_request(
    app, "GET", "/quote", query="sku=MUG-01&quantity=2&coupon=SPRING10&country=DE", headers=BROWSER
)
assert isinstance(error, TypeError), f"expected the pricing crash, got {status} {error!r}"
