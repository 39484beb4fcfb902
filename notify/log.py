"""The default notifier: one log line per job outcome (what `notify: []` means)."""

from __future__ import annotations

import logging
from typing import Literal

from common.config import ConnectorContext
from domain.job import JobOutcome, NotifyEvent
from notify.base import NotifierConfig

log = logging.getLogger("autofixer.notify")


class LogNotifierConfig(NotifierConfig):
    type: Literal["log"] = "log"


class LogNotifier:
    kind = "log"
    Config = LogNotifierConfig

    def __init__(self, config: LogNotifierConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.name = config.key

    async def notify(self, event: NotifyEvent, outcome: JobOutcome) -> None:
        what = {
            "pr_opened": f"pull request {outcome.pr_url}",
            "analysis": f"analysis without pull request ({outcome.reason or 'see the job'})",
            "failed": f"failed: {outcome.reason}",
            "skipped": f"skipped: {outcome.reason}",
        }[event]
        log.info("%s %s (issue %s): %s", event, outcome.job_id, outcome.issue_id, what)
