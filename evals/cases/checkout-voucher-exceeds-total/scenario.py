"""The checkout that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case checkout-voucher-exceeds-total` in a child process
with sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory
and `wsgi_request` (a gunicorn-like WSGI environ builder from evals/recorder.py) in scope.
"""

import logging

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from checkout.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
BROWSER = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Accept": "application/json",
    "Referer": "https://shop.example.com/checkout",
}
HOST = "shop.example.com"

status, _, error = wsgi_request(app, "POST", "/checkout", host=HOST, headers=BROWSER, json_body={
    "items": [{"sku": "TEE-02", "qty": 2}], "voucher": "SPRING10", "card_token": "tok_1Pq8ZrL2",
})
assert status == 201 and error is None, error
# A customer redeems a 20 EUR gift voucher on a 12.90 EUR mug.
sentry_sdk.set_user({"id": "cus_66120"})
status, _, error = wsgi_request(app, "POST", "/checkout", host=HOST, headers=BROWSER, json_body={
    "items": [{"sku": "MUG-01", "qty": 1}], "voucher": "GIFT-20-7K3M", "card_token": "tok_1Pq9AbX7",
})
assert type(error).__name__ == "PaymentError", f"expected the PaymentError crash, got {status} {error!r}"
