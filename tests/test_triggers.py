"""Trigger rules, table-driven: what each rule lets through at delivery and after the fetch."""

from __future__ import annotations

from typing import Any

import pytest

from common.durations import parse_duration
from domain import ErrorEvent, ExceptionInfo, StackFrame
from server.config import ConfigError, parse_settings
from server.metrics import Metrics
from server.triggers import Facts, TriggerRules, check_delivery, check_event


def event(*, env: str | None = "production", level: str | None = "error", kind: str = "KeyError",
          message: str = "'sku'", crash_in_app: bool | None = True, frames: bool = True) -> ErrorEvent:
    stack = [StackFrame(filename="app/cart.py", function="total", line_no=3, in_app=True),
             StackFrame(filename="/usr/lib/python3.11/json/decoder.py", function="decode", line_no=9,
                        in_app=crash_in_app)] if frames else []
    return ErrorEvent(id="e1", title=f"{kind}: {message}", environment=env, level=level,
                      exceptions=[ExceptionInfo(type=kind, value=message, frames=stack)])


# (rules, event kwargs, count, users) → the rule that stops it (prefix), or None
EVENT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], int | None, int | None, str | None]] = [
    ("defaults-let-everything-through", {}, {}, None, None, None),
    ("min-events-below", {"min_events": 10}, {}, 3, None, "min-events: 3 < 10"),
    ("min-events-reached", {"min_events": 10}, {}, 10, None, None),
    ("min-events-unknown-count-passes", {"min_events": 10}, {}, None, None, None),
    ("min-users-below", {"min_users": 5}, {}, 100, 1, "min-users: 1 < 5"),
    ("environment-listed", {"environments": ["production"]}, {}, None, None, None),
    ("environment-other", {"environments": ["production"]}, {"env": "staging"}, None, None,
     "environments: staging not in ['production']"),
    ("environment-missing", {"environments": ["production"]}, {"env": None}, None, None,
     "environments: (none reported)"),
    ("level-listed-any-case", {"levels": ["ERROR", "fatal"]}, {}, None, None, None),
    ("level-other", {"levels": ["fatal"]}, {"level": "warning"}, None, None, "levels: warning"),
    ("ignore-glob-on-type", {"ignore": ["Key*"]}, {}, None, None, "ignore: Key* matched"),
    ("ignore-glob-on-message", {"ignore": ["*timed out*"]}, {"kind": "OSError", "message": "read timed out"},
     None, None, "ignore: *timed out* matched"),
    ("ignore-regex-on-title", {"ignore": ["/^Connection(Reset|Refused)Error: /"]},
     {"kind": "ConnectionResetError", "message": "peer"}, None, None, "ignore: /^Connection"),
    ("ignore-no-match", {"ignore": ["ValueError", "/^Timeout/"]}, {}, None, None, None),
    ("in-app-crash", {"in_app_crash_only": True}, {}, None, None, None),
    ("library-crash", {"in_app_crash_only": True}, {"crash_in_app": False}, None, None,
     "in-app-crash-only: the crash frame /usr/lib/python3.11/json/decoder.py:9"),
    ("unknown-crash-frame-passes", {"in_app_crash_only": True}, {"crash_in_app": None}, None, None, None),
    ("no-stack", {"in_app_crash_only": True}, {"frames": False}, None, None, "in-app-crash-only: the event has no"),
]


@pytest.mark.parametrize(("rules", "kwargs", "count", "users", "stopped"),
                         [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES])
def test_rules_on_the_fetched_event(rules: dict[str, Any], kwargs: dict[str, Any], count: int | None,
                                    users: int | None, stopped: str | None) -> None:
    result = check_event(TriggerRules(**rules), event(**kwargs), count, users)
    if stopped is None:
        assert result is None
    else:
        assert result is not None and result.startswith(stopped), result


DELIVERY_CASES: list[tuple[str, dict[str, Any], Facts, str | None]] = [
    ("nothing-known-passes", {"min_events": 5, "environments": ["production"], "levels": ["error"]}, Facts(), None),
    ("count-known-below", {"min_events": 5}, Facts(count=2), "min-events: 2 < 5"),
    ("environment-known-other", {"environments": ["production"]}, Facts(environment="dev"), "environments: dev"),
    ("level-known-other", {"levels": ["error"]}, Facts(level="info"), "levels: info"),
    ("title-matches-ignore", {"ignore": ["*ChunkLoadError*"]}, Facts(title="ChunkLoadError: chunk 7"), "ignore:"),
]


@pytest.mark.parametrize(("rules", "facts", "stopped"), [c[1:] for c in DELIVERY_CASES],
                         ids=[c[0] for c in DELIVERY_CASES])
def test_rules_at_delivery_check_only_what_the_delivery_carries(rules: dict[str, Any], facts: Facts,
                                                                 stopped: str | None) -> None:
    result = check_delivery(TriggerRules(**rules), facts)
    assert (result is None) if stopped is None else (result is not None and result.startswith(stopped))


def test_untrusted_text_is_matched_only_up_to_a_cap() -> None:
    rules = TriggerRules(ignore=["/x$/"])
    assert check_delivery(rules, Facts(title="a" * 100_000 + "x")) is None  # beyond the cap: not seen


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("24h", 86400), ("7d", 604800),
                                               ("0", 0), (30, 30)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "-5m", "5w", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


BASE = {"source": {"type": "sentry", "org": "acme"}}


def test_project_rules_replace_the_default() -> None:
    settings = parse_settings({**BASE, "triggers": {"min-events": 10},
                               "projects": [{"source-project": "shop", "scm-repo": "acme/shop",
                                             "triggers": {"environments": ["production"]}},
                                            {"source-project": "blog", "scm-repo": "acme/blog"}]})
    shop, blog = settings.projects
    assert settings.triggers_for(shop).min_events == 0 and settings.triggers_for(shop).environments == ["production"]
    assert settings.triggers_for(blog).min_events == 10 and settings.triggers_for(None).min_events == 10


@pytest.mark.parametrize(("triggers", "named"), [({"ignore": ["/([/"]}, "triggers.ignore"),
                                                 ({"cooldown": "soon"}, "triggers.cooldown"),
                                                 ({"min-events": -1}, "triggers.min-events"),
                                                 ({"min-event": 3}, "triggers.min-event")])
def test_a_bad_rule_is_a_one_line_config_error(triggers: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({**BASE, "triggers": triggers})
    assert named in str(err.value) and "\n" not in str(err.value)


def test_ignored_jobs_are_counted_by_rule() -> None:
    metrics = Metrics()
    metrics.job_finished("ignored", 0.1, rule="min-events: 3 < 10")
    metrics.job_finished("ignored", 0.1, rule="min-events: 4 < 10")
    metrics.job_finished("done", 9.0)
    text = metrics.render()
    assert 'autofixer_jobs_ignored_total{rule="min-events"} 2' in text
    assert 'autofixer_jobs_total{state="ignored"} 2' in text
