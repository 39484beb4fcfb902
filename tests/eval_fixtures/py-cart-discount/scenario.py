"""The production call behind event.json: a checkout without a discount code.

Run by `python -m evals.recorder record --project repo --scenario scenario.py ...` under the
real Sentry SDK (a scratch venv); the AttributeError is reported as the framework would.
"""

import sentry_sdk
from cart.totals import cart_total

sentry_sdk.set_tag("region", "eu-west-1")
try:
    cart_total([{"sku": "apple", "qty": 2}, {"sku": "fig", "qty": 1}])
except Exception as exc:  # what the web framework's integration would do
    sentry_sdk.capture_exception(exc)
