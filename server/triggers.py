"""Trigger rules: which errors get a fix. A default (`triggers:`) and per project (`projects[].triggers`).

A rule is checked as soon as something knows the fact it needs: at delivery (webhook or poll)
for what the delivery carries (counts, level, environment, the title), and in the job after the
event is fetched for the rest (environment, level, the crash frame, counts from the tracker).
The first rule that fails names itself, e.g. `min-events: 3 < 10`; the job then ends `ignored`
with that rule, visible in the jobs API and /metrics. An ignored issue is checked again by a
later delivery or poll once `cooldown` has passed, so one below a threshold can qualify later.

Patterns in `ignore` are globs (`*Timeout*`, `requests.exceptions.*`) or, between slashes,
regular expressions (`/^Connection(Reset|Refused)Error$/`), matched against the exception type,
its message and `Type: message`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from pydantic import Field, field_validator

from common.config import Section
from common.durations import parse_duration
from domain import ErrorEvent

MAX_MATCHED_CHARS = 2000  # event text is untrusted; a user regex only ever sees this much of it


class TriggerRules(Section):
    min_events: int = Field(0, ge=0)  # the event count, as the tracker reports it
    min_users: int = Field(0, ge=0)  # users affected (Sentry userCount, Datadog impacted users)
    environments: list[str] = Field(default_factory=list)  # only these (empty: any)
    levels: list[str] = Field(default_factory=list)  # only these levels: error, fatal… (empty: any)
    ignore: list[str] = Field(default_factory=list)  # exception types or messages: globs or /regex/
    in_app_crash_only: bool = False  # only when the frame that raised is the application's own
    cooldown: str = "10m"  # how long an ignored issue waits before a delivery or poll re-checks it

    @field_validator("ignore")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if _is_regex(pattern):
                try:
                    re.compile(pattern[1:-1])
                except re.error as exc:
                    raise ValueError(f"ignore pattern {pattern!r} is not a regular expression: {exc}") from None
        return patterns

    @field_validator("cooldown")
    @classmethod
    def _cooldown_parses(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def cooldown_seconds(self) -> float:
        return parse_duration(self.cooldown)

    @property
    def needs_counts(self) -> bool:
        return self.min_events > 0 or self.min_users > 0


@dataclass(frozen=True)
class Facts:
    """What is known about an issue at some point; None: not known (yet)."""

    title: str | None = None
    error_type: str | None = None
    message: str | None = None
    count: int | None = None
    user_count: int | None = None
    environment: str | None = None
    level: str | None = None


def check_delivery(rules: TriggerRules, facts: Facts) -> str | None:
    """The rule a delivery fails on what it carries, or None. Unknown facts pass here: the job
    checks them again once it has the event."""
    return _check_facts(rules, facts, final=False)


def check_event(rules: TriggerRules, event: ErrorEvent, count: int | None, user_count: int | None) -> str | None:
    """The rule the fetched event (and the issue's counts) fails, or None."""
    facts = Facts(title=event.title, error_type=event.error_type, message=event.error_message, count=count,
                  user_count=user_count, environment=event.environment, level=event.level)
    if stopped := _check_facts(rules, facts, final=True):
        return stopped
    if rules.in_app_crash_only:
        frames = event.stack_trace
        if not frames:
            return "in-app-crash-only: the event has no stack trace"
        crash = frames[-1]
        if crash.in_app is False:
            return f"in-app-crash-only: the crash frame {crash.location[:200]} is not application code"
    return None


def _check_facts(rules: TriggerRules, facts: Facts, *, final: bool) -> str | None:
    """`final`: the facts are all there will be, so a missing environment or level fails a
    rule that lists the allowed ones; counts a tracker does not report never fail."""
    if rules.min_events and facts.count is not None and facts.count < rules.min_events:
        return f"min-events: {facts.count} < {rules.min_events}"
    if rules.min_users and facts.user_count is not None and facts.user_count < rules.min_users:
        return f"min-users: {facts.user_count} < {rules.min_users}"
    env_known, level_known = facts.environment is not None or final, facts.level is not None or final
    if rules.environments and env_known and facts.environment not in rules.environments:
        return f"environments: {(facts.environment or '(none reported)')[:100]} not in {rules.environments}"
    if rules.levels and level_known and (facts.level or "").lower() not in {lv.lower() for lv in rules.levels}:
        return f"levels: {(facts.level or '(none reported)')[:40]} not in {rules.levels}"
    if rules.ignore:
        texts = _texts(facts)
        for pattern in rules.ignore:
            if any(_matches(pattern, text) for text in texts):
                return f"ignore: {pattern[:200]} matched"
    return None


def _texts(facts: Facts) -> list[str]:
    texts = [t for t in (facts.error_type, facts.message, facts.title) if t]
    if facts.error_type and facts.message:
        texts.append(f"{facts.error_type}: {facts.message}")
    return [t[:MAX_MATCHED_CHARS] for t in texts]


def _is_regex(pattern: str) -> bool:
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


def _matches(pattern: str, text: str) -> bool:
    if _is_regex(pattern):
        return re.search(pattern[1:-1], text) is not None
    return fnmatch.fnmatchcase(text, pattern)
