"""The reservation that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case stock-frozen-reservation` in a child process with
sentry-sdk and the case's requirements.txt (attrs), after `sentry_sdk.init(...)`, with a copy of
repo/ as the working directory and `wsgi_request` in scope.
"""

import logging

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from stock.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
CHECKOUT = {"User-Agent": "shop-checkout/2.18 (+python-requests/2.32.3)", "Accept": "application/json"}
HOST = "stock.internal.example.com"

status, _, error = wsgi_request(app, "GET", "/stock/TEE-ORG-M", headers=CHECKOUT, host=HOST)
assert status == 200 and error is None, error
status, _, error = wsgi_request(app, "POST", "/releases", json_body={"sku": "MUG-BLUE-350", "quantity": 1},
                                headers={**CHECKOUT, "Content-Type": "application/json"}, host=HOST)
assert status == 200 and error is None, error
# Checkout holds two T-shirts for order 88213.
sentry_sdk.set_tag("order", "88213")
status, _, error = wsgi_request(app, "POST", "/reservations", json_body={"sku": "TEE-ORG-M", "quantity": 2},
                                headers={**CHECKOUT, "Content-Type": "application/json"}, host=HOST)
assert type(error).__name__ == "FrozenInstanceError", f"expected the FrozenInstanceError crash, got {status} {error!r}"
