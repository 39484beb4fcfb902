"""Datadog and Rollbar through the real service, next to Sentry: webhook → job → pull request on
the fake GitHub; forged or missing secrets are 401s; a redelivery and a poll after a webhook find
the job instead of starting a second one; trigger rules end jobs `ignored` with the rule named,
visible in the jobs API and /metrics, and an ignored issue is checked again by a later poll."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_api import API_KEY, FakeAnthropic
from tests.fakes.datadog_api import FakeDatadog
from tests.fakes.datadog_api import load as load_datadog
from tests.fakes.github_api import FakeGitHub
from tests.fakes.rollbar_api import FakeRollbar, add_pyrollbar_item, webhooks
from tests.fakes.serve import serve_app
from tests.service import Service
from tests.test_agent_loop import CART, _git, _line_of, make_shop_repo
from tests.test_service_fix import SCRIPT

GITHUB_TOKEN = "test-github-token-not-real"
DD_API, DD_APP, DD_SECRET = "dd-api-" + "0" * 32, "dd-app-" + "1" * 40, "dd-hook-" + "secret-not-real"
RB_TOKEN, RB_SECRET = "rb-read-" + "2" * 32, "rb-hook-" + "secret-not-real"
DD_FIX = "1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # production, 42 events: fixed
DD_FEW = "2f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # 2 events: ignored, then staging: ignored again
RB_FIX, RB_STAGING = "7001", "7002"


def shop_traceback(repo: Path) -> str:
    """The shop's crash as CPython prints it (what dd-trace puts in error.stack)."""
    run = subprocess.run([sys.executable, "-c", "from shop.cart import cart_total\n"
                          "cart_total([{'sku': 'apple', 'qty': 2}])"], cwd=repo, capture_output=True, text=True)
    assert "AttributeError" in run.stderr, run.stderr
    return run.stderr


def rollbar_shop_occurrence() -> dict[str, Any]:
    """The captured pyrollbar occurrence, its trace pointing at the shop's crash."""
    data = json.loads((Path(__file__).parent / "fakes" / "rollbar_pyrollbar_occurrence.json").read_text())
    data["body"] = {"trace": {
        "exception": {"class": "AttributeError", "message": "'NoneType' object has no attribute 'get'"},
        "frames": [{"filename": "/srv/app/shop/cart.py", "lineno": _line_of(CART, "return apply_discount("),
                    "method": "cart_total", "code": "return apply_discount(subtotal, discounts)"},
                   {"filename": "/srv/app/shop/cart.py", "lineno": _line_of(CART, "discounts.get("),
                    "method": "apply_discount", "code": 'percent = discounts.get("percent", 0)'}]}}
    return data


def add_shop_issue(datadog: FakeDatadog, issue_id: str, count: int, stack: str) -> None:
    datadog.add_issue(issue_id, service="shop", count=count, users=3, env="production")
    datadog.spans[issue_id][0]["attributes"]["custom"]["error"] = {
        "type": "builtins.AttributeError", "message": "'NoneType' object has no attribute 'get'", "stack": stack}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("sources")
    work = make_shop_repo(root / "work")
    bare = root / "acme" / "shop.git"
    _git(root, "clone", "-q", "--bare", str(work), str(bare))
    github = FakeGitHub(token=GITHUB_TOKEN, repo_paths={"acme/shop": bare})
    llm = FakeAnthropic([])
    datadog = FakeDatadog(api_key=DD_API, app_key=DD_APP)
    span_stack = shop_traceback(work)
    add_shop_issue(datadog, DD_FIX, 42, span_stack)
    rollbar = FakeRollbar(token=RB_TOKEN)
    add_pyrollbar_item(rollbar, RB_FIX)
    rollbar.occurrences[RB_FIX][0]["data"] = rollbar_shop_occurrence()
    with serve_app(github.app) as github_url, serve_app(llm.app) as llm_url, \
            serve_app(datadog.app) as datadog_url, serve_app(rollbar.app) as rollbar_url:
        svc = Service(root, "http://127.0.0.1:9", config={
            "source": None,
            "sources": [{"type": "datadog", "base-url": datadog_url},
                        {"type": "rollbar", "base-url": rollbar_url, "account": "acme", "project": "shop"}],
            "scm": {"type": "github", "base-url": github_url},
            "projects": [{"source-project": "shop", "scm-repo": "acme/shop", "source": name,
                          "clone-url": f"{github_url}/acme/shop.git"} for name in ("datadog", "rollbar")],
            "triggers": {"min-events": 5, "environments": ["production"], "cooldown": "0s"},
            "llm": {"provider": "anthropic", "base-url": llm_url, "max-steps": 10},
            "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        }, env={"AUTOFIXER_LLM_KEY": API_KEY, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN,
                "AUTOFIXER_DATADOG_API_KEY": DD_API, "AUTOFIXER_DATADOG_APP_KEY": DD_APP,
                "AUTOFIXER_DATADOG_WEBHOOK_SECRET": DD_SECRET, "AUTOFIXER_ROLLBAR_TOKEN": RB_TOKEN,
                "AUTOFIXER_ROLLBAR_WEBHOOK_SECRET": RB_SECRET}).start()
        try:
            yield {"svc": svc, "github": github, "llm": llm, "datadog": datadog, "rollbar": rollbar,
                   "stack": span_stack}
        finally:
            svc.stop()


def datadog_delivery(issue_id: str) -> bytes:
    """The recorded monitor payload with the fields of README's template."""
    body = dict(load_datadog("relay-integrations__monitor-webhook-default-payload_test-notification.json")[0])
    body.update(issue_id=issue_id, transition="Triggered",
                link=f"https://app.datadoghq.com/error-tracking?issueId={issue_id}")
    return json.dumps(body).encode()


def rollbar_delivery(item_id: str, env: str) -> bytes:
    body = copy.deepcopy(webhooks()["new_item"])
    body["data"]["item"].update(id=int(item_id), environment=env, total_occurrences=12)
    return json.dumps(body).encode()


def post(svc: Service, name: str, body: bytes, *, headers: dict[str, str] | None = None,
         query: str = "") -> httpx.Response:
    return httpx.post(f"{svc.url}/api/webhook/{name}{query}", content=body, timeout=10,
                      headers={"Content-Type": "application/json", **(headers or {})})


def sweep(svc: Service, source: str) -> list[list[str]]:
    run = subprocess.run([sys.executable, "-m", "server.cli", "--config", str(svc.config_path), "sweep",
                          "--source", source, "--since", "0"], env=svc.env, cwd=svc.workdir,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [line.split("\t") for line in run.stdout.splitlines()]


def test_datadog_webhook_to_pull_request_then_duplicates_and_401s(world: dict[str, Any]) -> None:
    svc, github, llm = world["svc"], world["github"], world["llm"]
    llm.script[:] = list(SCRIPT)
    job_id = f"datadog:datadoghq.com:{DD_FIX}"
    for headers in ({}, {"X-Autofixer-Token": "not-the-secret"}):
        assert post(svc, "datadog", datadog_delivery(DD_FIX), headers=headers).status_code == 401
    response = post(svc, "datadog", datadog_delivery(DD_FIX), headers={"X-Autofixer-Token": DD_SECRET})
    assert response.status_code == 202 and response.json()["job_id"] == job_id, response.text
    outcome = svc.wait_job(job_id, timeout=90)["outcome"]
    assert outcome["state"] == "done", outcome
    assert outcome["issue_url"] == f"https://app.datadoghq.com/error-tracking?issueId={DD_FIX}"
    crash = outcome["event"]["exceptions"][-1]["frames"][-1]
    assert crash["function"] == "apply_discount" and crash["filename"].endswith("shop/cart.py")
    assert outcome["event"]["environment"] == "production"
    [pull] = [p for p in github.pulls["acme/shop"] if DD_FIX in p["head"]["ref"]]
    assert "Reported by Datadog in `production`" in pull["body"] and "**Datadog issue:**" in pull["body"]

    again = post(svc, "datadog", datadog_delivery(DD_FIX), headers={"X-Autofixer-Token": DD_SECRET})
    assert again.json() == {"status": "duplicate", "job_id": job_id}
    polled = {row[1]: row for row in sweep(svc, "datadog")}
    assert polled[DD_FIX][2] == "duplicate"  # the poll after the webhook: no second job


def test_rollbar_webhook_to_pull_request_then_duplicates_and_401s(world: dict[str, Any]) -> None:
    svc, github, llm = world["svc"], world["github"], world["llm"]
    llm.script[:] = list(SCRIPT)
    job_id = f"rollbar:shop:{RB_FIX}"
    body = rollbar_delivery(RB_FIX, "production")
    assert post(svc, "rollbar", body).status_code == 401
    assert post(svc, "rollbar", body, query="?token=wrong").status_code == 401
    response = post(svc, "rollbar", body, query=f"?token={RB_SECRET}")
    assert response.status_code == 202 and response.json()["job_id"] == job_id, response.text
    outcome = svc.wait_job(job_id, timeout=90)["outcome"]
    assert outcome["state"] == "done", outcome
    assert outcome["event"]["release"] == "3f2a9c1" and outcome["event"]["tags"]["branch"] == "main"
    [pull] = [p for p in github.pulls["acme/shop"] if f"rollbar-{RB_FIX}" in p["head"]["ref"]]
    assert "Reported by Rollbar in `production`" in pull["body"]
    assert post(svc, "rollbar", body, query=f"?token={RB_SECRET}").json()["status"] == "duplicate"
    polled = {row[1]: row for row in sweep(svc, "rollbar")}
    assert polled[RB_FIX][2] == "duplicate"


def test_trigger_rules_ignore_with_the_rule_named_and_recheck_later(world: dict[str, Any]) -> None:
    svc, datadog = world["svc"], world["datadog"]
    add_pyrollbar_item(world["rollbar"], RB_STAGING, environment="staging")  # added now: no earlier poll saw them
    add_shop_issue(datadog, DD_FEW, 2, world["stack"])
    # A delivery carrying a failing fact: queued to be recorded, ignored without a step.
    staging = post(svc, "rollbar", rollbar_delivery(RB_STAGING, "staging"), query=f"?token={RB_SECRET}")
    assert staging.status_code == 202 and staging.json()["status"] == "ignored", staging.text
    assert staging.json()["rule"].startswith("environments: staging")
    job = svc.wait_job(f"rollbar:shop:{RB_STAGING}")["outcome"]
    assert job["state"] == "ignored" and job["rule"].startswith("environments") and job["stages"] == []

    # A poll: 2 events is below min-events…
    polled = {row[1]: row for row in sweep(svc, "datadog")}
    assert polled[DD_FEW][2] == "ignored_by_rule" and polled[DD_FEW][4] == "min-events: 2 < 5"
    few_job = f"datadog:datadoghq.com:{DD_FEW}"
    assert svc.wait_job(few_job)["outcome"]["rule"] == "min-events: 2 < 5"
    # …until the issue grows: the next poll checks it again, and the event (now from staging) fails
    # the environments rule inside the job, after the fetch.
    datadog.counts[DD_FEW]["total_count"] = 9
    datadog.spans[DD_FEW][0]["attributes"]["env"] = "staging"
    polled = {row[1]: row for row in sweep(svc, "datadog")}
    assert polled[DD_FEW][2] == "rechecked"
    outcome = svc.wait_job(few_job)["outcome"]
    assert outcome["state"] == "ignored" and outcome["stages"] == ["fetch_event"], outcome
    assert outcome["rule"] == "environments: staging not in ['production']"

    # The polls also queued the fakes' recorded issues (1 event each: min-events), so at least:
    metrics = dict(line.rsplit(" ", 1) for line in httpx.get(f"{svc.url}/metrics", timeout=5).text.splitlines()
                   if line and not line.startswith("#"))
    assert int(metrics['autofixer_jobs_ignored_total{rule="environments"}']) >= 2
    assert int(metrics['autofixer_jobs_ignored_total{rule="min-events"}']) >= 1
    assert int(metrics['autofixer_jobs_total{state="ignored"}']) >= 3
    assert metrics['autofixer_webhooks_total{outcome="ignored_by_rule"}'] == "1"


def test_the_service_polls_a_source_with_poll_interval(tmp_path: Path) -> None:
    """No webhook at all: the poller's first pass runs at start-up and queues a job per issue under
    the webhook's job id (here every one stops at min-events, so no model is needed)."""
    rollbar = FakeRollbar(token=RB_TOKEN)
    add_pyrollbar_item(rollbar, RB_FIX, total=12)
    with serve_app(rollbar.app) as rollbar_url:
        svc = Service(tmp_path, "http://127.0.0.1:9", config={
            "source": None,
            "sources": [{"type": "rollbar", "base-url": rollbar_url, "project": "shop", "poll-interval": "30s"}],
            "projects": [{"source-project": "shop", "scm-repo": "acme/shop"}],
            "triggers": {"min-events": 1000},
        }, env={"AUTOFIXER_ROLLBAR_TOKEN": RB_TOKEN, "AUTOFIXER_ROLLBAR_WEBHOOK_SECRET": RB_SECRET}).start()
        try:
            outcome = svc.wait_job(f"rollbar:shop:{RB_FIX}", timeout=30)["outcome"]
            assert outcome["state"] == "ignored" and outcome["rule"] == "min-events: 12 < 1000"
            assert outcome["trigger"] == "poll"
            again = post(svc, "rollbar", rollbar_delivery(RB_FIX, "production"), query=f"?token={RB_SECRET}")
            assert again.json()["status"] == "duplicate"  # the webhook after the poll: no second job
        finally:
            svc.stop()
