"""Several connectors in one deployment: config entries, per-source webhook routes and job ids,
secrets derived from the entries, and the notify step."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import pytest
from dbos import DBOSClient

from domain.job import JobOutcome, JobState, PublishOutcome, notify_event
from notify.base import NotifyError
from notify.log import LogNotifierConfig
from server import connectors
from server.config import ConfigError, Secrets, parse_settings
from server.metrics import Metrics
from server.pipeline import services as service_registry
from server.pipeline import workflow as pipeline
from tests.fakes.sentry_api import FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service

EU_SECRET = "test-eu-webhook-secret-not-real"
EU_TOKEN = "test-eu-sentry-token-not-real"


def _two_sentries(us_url: str, eu_url: str) -> dict[str, object]:
    return {
        "source": None,  # replaces the harness's single source
        "sources": [
            {"type": "sentry", "base-url": us_url, "org": "test-org"},
            {"type": "sentry", "name": "sentry-eu", "base-url": eu_url, "org": "eu-org",
             "token-env": "EU_SENTRY_TOKEN", "webhook-secret-env": "EU_WEBHOOK_SECRET"},
        ],
        "projects": [{"source-project": "front-end", "scm-repo": "acme/front-end", "source": "sentry"}],
    }


@pytest.mark.slow
def test_each_source_has_its_own_route_secret_token_and_job_ids(tmp_path: Path) -> None:
    us, eu = FakeSentry(token=SENTRY_TOKEN, org="test-org"), FakeSentry(token=EU_TOKEN, org="eu-org")
    event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
    event["groupID"] = "7700001"
    eu.add_event(event, project_slug="front-end")
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"]["id"] = "7700001"
    with serve_app(us.app) as us_url, serve_app(eu.app) as eu_url:
        svc = Service(tmp_path, us_url, config=_two_sentries(us_url, eu_url),
                      env={"EU_SENTRY_TOKEN": EU_TOKEN, "EU_WEBHOOK_SECRET": EU_SECRET}).start()
        try:
            # The EU secret is not the default source's, and the default secret is not the EU one's.
            assert svc.post_webhook(body, "issue", secret=EU_SECRET).status_code == 401
            assert svc.post_webhook(body, "issue", source="sentry-eu").status_code == 401
            assert svc.post_webhook(body, "issue", source="rollbar").status_code == 404
            accepted = svc.post_webhook(body, "issue", secret=EU_SECRET, source="sentry-eu")
            assert accepted.status_code == 202 and accepted.json()["job_id"] == "sentry-eu:eu-org:7700001"
            job = svc.wait_job("sentry-eu:eu-org:7700001")
            # Fetched from the EU Sentry with the EU token; the project is mapped for the other source.
            assert any("/organizations/eu-org/issues/7700001/events/latest/" in p for p in eu.paths())
            assert not us.paths()
            outcome = job["outcome"]
            assert outcome["source"] == "sentry-eu" and outcome["state"] == "skipped"
            assert "Sentry project 'front-end' is not in projects[]" in outcome["reason"]
            assert EU_TOKEN not in svc.log() and EU_SECRET not in svc.log()
            assert "skipped sentry-eu:eu-org:7700001" in svc.log()  # the default log notifier
        finally:
            svc.stop()


def test_secrets_are_derived_from_the_connector_entries() -> None:
    settings = parse_settings({
        "sources": [{"type": "sentry", "org": "o", "token-env": "MY_SENTRY_TOKEN"}],
        "scm": {"type": "github", "token-env": "GHE_TOKEN"},
        "llm": {"provider": "anthropic", "key-env": "TEAM_LLM_KEY"},
    })
    env = {"MY_SENTRY_TOKEN": "sentry-value-1", "GHE_TOKEN": "ghe-value-2", "TEAM_LLM_KEY": "llm-value-3",
           "AUTOFIXER_SOMETHING_NEW_TOKEN": "new-value-4", "AUTOFIXER_WEBHOOK_SECRET": "a-5, b-6",
           "HOME": "/root", "AUTOFIXER_PORT": "8080"}
    values = set(Secrets(settings, environ=env).values())
    assert {"sentry-value-1", "ghe-value-2", "llm-value-3", "new-value-4", "a-5, b-6", "a-5", "b-6"} <= values
    assert "/root" not in values and "8080" not in values
    forge = connectors.build_forges(settings, Secrets(settings, environ=env))["github"]
    assert forge.git_token() == "ghe-value-2" and "ghe-value-2" not in repr(forge)


@pytest.mark.parametrize(("raw", "expected"), [
    ({"scm": {"type": "gitea"}},
     "scm.type: unknown forge 'gitea' (known: bitbucket, bitbucket-datacenter, github, gitlab)"),
    ({"sources": [{"type": "bugsnag"}]}, "sources[0].type: unknown source 'bugsnag' (known: datadog, rollbar, sentry)"),
    ({"sources": [{"type": "sentry", "org": 3}]}, "sources[0].org: Input should be a valid string"),
    ({"source": {"type": "sentry"}, "sources": [{"type": "sentry"}]}, "source and sources are both set"),
    ({"sources": [{"type": "sentry"}, {"type": "sentry"}]}, "two entries are named 'sentry'"),
    ({"sources": [{"type": "sentry"}, {"type": "sentry", "name": "eu"}],
      "projects": [{"source-project": "p", "scm-repo": "o/r"}]}, "projects[0].source: required when several"),
    ({"projects": [{"source-project": "p", "scm-repo": "o/r", "scm": "gitlab"}]},
     "projects[0].scm: no scm named 'gitlab' (configured: github)"),
    ({"notify": [{"type": "log", "events": ["sometimes"]}]}, "notify[0].events[0]: Input should be 'pr_opened'"),
])
def test_bad_connector_entries_name_the_key(raw: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, source="autofixer.yml")
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_projects_map_by_source_and_default_to_the_only_one() -> None:
    settings = parse_settings({
        "sources": [{"type": "sentry", "name": "us"}, {"type": "sentry", "name": "eu"}],
        "projects": [{"source-project": "shop", "scm-repo": "o/us-shop", "source": "us"},
                     {"source-project": "shop", "scm-repo": "o/eu-shop", "source": "eu"}],
    })
    assert settings.project_for("shop", "eu").scm_repo == "o/eu-shop"  # type: ignore[union-attr]
    assert settings.project_for("shop", "us").scm_repo == "o/us-shop"  # type: ignore[union-attr]
    single = parse_settings({"projects": [{"source-project": "shop", "scm-repo": "o/r"}]})
    assert single.source_of(single.projects[0]) == "sentry" and single.scm_of(single.projects[0]) == "github"


def test_every_registered_connector_declares_its_config_and_protocol() -> None:
    from agent.provider import ModelProvider
    from notify.base import Notifier
    from scm.base import ScmProvider
    from sources.base import ErrorSource

    for kind, protocol in (("source", ErrorSource), ("forge", ScmProvider), ("notifier", Notifier),
                           ("provider", ModelProvider)):
        for name in connectors.names(kind):
            cls = connectors.connector_class(kind, name)
            methods = [n for n, v in vars(protocol).items() if not n.startswith("_") and callable(v)]
            for member in [*methods, "kind" if kind != "provider" else "pricing"]:
                assert hasattr(cls, member), (kind, name, member)
            if kind != "provider":
                assert cls.Config.model_fields["type"].default == name


class _Failing:
    name, kind = "boom", "boom"

    def __init__(self, config: LogNotifierConfig) -> None:
        self.config = config
        self.calls = 0

    async def notify(self, event: str, outcome: JobOutcome) -> None:
        self.calls += 1
        raise NotifyError("hooks.example answered 500 three times")


class _Recording(_Failing):
    async def notify(self, event: str, outcome: JobOutcome) -> None:
        self.calls += 1


def test_a_notifier_that_cannot_deliver_is_a_warning_not_a_failed_fix(tmp_path: Path) -> None:
    settings = parse_settings({"state-dir": str(tmp_path)})
    failing = _Failing(LogNotifierConfig())
    only_failures = _Recording(LogNotifierConfig(events=["failed"]))
    other_project = _Recording(LogNotifierConfig(projects=["billing"]))
    service_registry.configure(service_registry.Services(
        settings=settings, secrets=Secrets(settings, environ={}), metrics=Metrics(), workspaces=None,  # type: ignore[arg-type]
        notifiers=[failing, only_failures, other_project]))
    outcome = JobOutcome(job_id="sentry:o:1", issue_id="1", state=JobState.DONE, project="shop",
                         publication=PublishOutcome(state="opened", pr_url="https://example/pr/1"))
    assert notify_event(outcome) == "pr_opened"
    asyncio.run(pipeline.notify(outcome))
    assert outcome.state is JobState.DONE
    assert outcome.warnings == ["notifier boom: hooks.example answered 500 three times"]
    assert (failing.calls, only_failures.calls, other_project.calls) == (1, 0, 0)


@pytest.mark.parametrize(("outcome", "event"), [
    (JobOutcome(job_id="j", issue_id="1", state=JobState.FAILED, reason="Sentry said 401"), "failed"),
    (JobOutcome(job_id="j", issue_id="1", state=JobState.SKIPPED, reason="unknown project"), "skipped"),
    (JobOutcome(job_id="j", issue_id="1", state=JobState.DONE,
                publication=PublishOutcome(state="dry_run")), "skipped"),
])
def test_notify_events_follow_the_outcome(outcome: JobOutcome, event: str) -> None:
    assert notify_event(outcome) == event


@pytest.mark.slow
def test_a_token_planted_in_the_event_never_reaches_the_stored_job(tmp_path: Path) -> None:
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
    event["groupID"], event["title"] = "7700002", f"TypeError: leaked {SENTRY_TOKEN} here"
    fake.add_event(event, project_slug="front-end")
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"]["id"] = "7700002"
    with serve_app(fake.app) as sentry_url:
        svc = Service(tmp_path, sentry_url).start()
        try:
            assert svc.post_webhook(body, "issue").status_code == 202
            job = svc.wait_job("sentry:test-org:7700002")
            assert "leaked" in job["outcome"]["event"]["title"]  # (it then fails: no LLM key here)
            assert SENTRY_TOKEN not in json.dumps(job) and SENTRY_TOKEN not in svc.log()
            # Nor the job store's checkpoints (the fetched event is a recorded step output).
            client = DBOSClient(system_database_url=f"sqlite:///{tmp_path / 'state' / 'autofixer.sqlite'}",
                                application_name="autofixer")
            try:
                steps = client.list_workflow_steps("sentry:test-org:7700002")
            finally:
                client.destroy()
            assert any(step["function_name"] == "fetch_latest_event" for step in steps)
            assert SENTRY_TOKEN not in repr(steps)
        finally:
            svc.stop()
