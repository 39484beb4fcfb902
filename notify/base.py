"""The contract every notifier (log, Slack, Discord, Teams, signed webhook) fulfils.

The pipeline calls `notify` once per job outcome, from a checkpointed step, for each configured
notifier whose `events` (and `projects`, when set) cover it. A notifier raises NotifyError when
it could not deliver; the pipeline records that as a warning on the job, never as a failed fix.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import Field

from common.config import ConnectorConfig
from domain.job import NOTIFY_EVENTS, JobOutcome, NotifyEvent


class NotifierConfig(ConnectorConfig):
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))
    projects: list[str] = Field(default_factory=list)  # source projects; empty: every project
    # Where people can read a job (`<jobs-url>/<job id>`), e.g. https://fixer.example.com/api/jobs.
    jobs_url: str | None = None

    def covers(self, event: NotifyEvent, outcome: JobOutcome) -> bool:
        return event in self.events and (not self.projects or outcome.project in self.projects)


class NotifyError(Exception):
    """Delivery failed after the notifier's own retries; the message is safe to record."""


@runtime_checkable
class Notifier(Protocol):
    name: str
    kind: str
    config: NotifierConfig

    async def notify(self, event: NotifyEvent, outcome: JobOutcome) -> None: ...
