"""The send loop: drains queued e-mail jobs (the SMTP relay in production)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from mailer.emails import Email, order_confirmed, order_shipped

log = logging.getLogger("mailer.outbox")

RENDERERS = {"order_confirmed": order_confirmed, "order_shipped": order_shipped}


def process_jobs(lines: Iterable[str]) -> list[Email]:
    sent: list[Email] = []
    for line in lines:
        if not line.strip():
            continue
        job = json.loads(line)
        email = RENDERERS[job["kind"]](job["to"], job.get("locale"), **job["params"])
        sent.append(email)  # handed to the SMTP relay in production
    log.info("sent %d e-mail(s)", len(sent))
    return sent


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        return len(process_jobs(fh))
