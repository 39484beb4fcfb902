"""The profile request that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case accounts-sso-no-address` in a child process with
sentry-sdk, after `sentry_sdk.init(...)`, with a copy of repo/ as the working directory and
`wsgi_request` (a gunicorn-like WSGI environ builder from evals/recorder.py) in scope.
"""

import logging

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

from accounts.api import application

wsgi_request = globals()["wsgi_request"]  # provided by the recorder; spelled out for linters

logging.basicConfig(level=logging.INFO)
app = SentryWsgiMiddleware(application)
BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept": "application/json",
    "Referer": "https://community.example.com/t/welcome-thread/88",
}
HOST = "community.example.com"

for path in ("/users/1001/profile", "/users/1002/profile"):
    status, _, error = wsgi_request(app, "GET", path, headers=BROWSER, host=HOST)
    assert status == 200 and error is None, error
# A reader opens the profile card of someone who joined through company SSO.
sentry_sdk.set_user({"id": "1002"})
status, _, error = wsgi_request(app, "GET", "/users/2417/profile", headers=BROWSER, host=HOST)
assert isinstance(error, AttributeError), f"expected the AttributeError crash, got {status} {error!r}"
