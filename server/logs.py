"""Structured logging: one logfmt line per record, the job's issue id on every line of a job.

The issue id travels in a context variable set at the start of a fix workflow, so code deep in
the agent or a connector logs normally and still gets `issue=` stamped on its lines. Every
line passes through redaction so a token that reaches an error message never reaches a log.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterable

from domain.redact import redactor

job_issue: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_issue", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)


class LogfmtFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._scrub = redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = [f"ts={ts}.{int(record.msecs):03d}Z", f"level={record.levelname.lower()}", f"logger={record.name}"]
        if issue := job_issue.get():
            fields.append(f"issue={issue}")
        if job := job_id.get():
            fields.append(f"job={job}")
        message = record.getMessage()
        if record.exc_info:
            message += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        fields.append(f"msg={json.dumps(self._scrub(message), ensure_ascii=False)}")
        return " ".join(fields)


def configure(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "hypercorn.access", "dbos"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # DBOS and hypercorn bring their own console handlers and formats: give them ours instead,
    # so their lines are logfmt too and come out once (DBOS adds its handler only to a logger
    # that has none; hypercorn uses the logger it is given, see server/cli.py).
    for library in ("dbos", "hypercorn.error"):
        logger = logging.getLogger(library)
        logger.handlers[:] = [handler]
        logger.propagate = False
