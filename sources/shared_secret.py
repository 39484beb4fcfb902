"""Webhooks authenticated by a shared secret rather than a signature (Datadog, Rollbar).

Neither tracker signs its webhooks, so the delivery carries a secret we configured on both ends:
in a custom header (Datadog lets you add headers) or in the URL's query (Rollbar only takes a URL).
The comparison is constant-time over every configured secret (comma-separated, to rotate).
"""

from __future__ import annotations

import hmac

from sources.base import Delivery, DeliveryRejected

HEADER = "X-Autofixer-Token"
QUERY_PARAM = "token"


def secrets_from(raw: str | None) -> list[bytes]:
    return [s.strip().encode() for s in (raw or "").split(",") if s.strip()]


def given_token(delivery: Delivery) -> str | None:
    """The header wins; the query parameter is for trackers that cannot set headers."""
    return delivery.headers.get(HEADER) or delivery.query.get(QUERY_PARAM)


def require_token(delivery: Delivery, secrets: list[bytes], *, label: str) -> None:
    """Raise DeliveryRejected(401) unless the delivery carries one of `secrets`."""
    given = (given_token(delivery) or "").strip().encode()
    matched = False
    for secret in secrets:  # no early exit: every secret costs the same, whichever matches
        matched |= hmac.compare_digest(secret, given)
    if not (given and matched):
        raise DeliveryRejected(401, f"missing or wrong {label} webhook token ({HEADER} header or ?{QUERY_PARAM}=)",
                               outcome="bad_signature")
