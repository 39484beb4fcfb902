"""Notifications and Slack approval through the real service (a subprocess): a job's PR-opened,
held-back and failed outcomes each reach every configured notifier exactly once, with no secret
planted in the event; a SIGKILL between the PR and the notification still ends in one message;
a signed Slack click turns a held-back analysis into one pull request.

Fakes: Sentry, GitHub (git smart HTTP + REST), the Anthropic Messages API, Slack (Web API and
response_url), Discord, a Teams workflow and a Standard Webhooks receiver, all on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from server.http.slack_actions import signature
from tests.fakes.anthropic_api import API_KEY, FakeAnthropic
from tests.fakes.chat_api import ChatFake, FakeDiscord, FakeReceiver, FakeSlack
from tests.fakes.github_api import FakeGitHub
from tests.fakes.sentry_api import FakeSentry
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import _git, _submit_call, make_shop_repo
from tests.test_service_fix import SCRIPT, _webhook, api_event

GITHUB_TOKEN = "test-github-token-notify-0123456789"
BOT_TOKEN = "xoxb-" + "service-bot-token-0123456789"
SIGNING_SECRET = "slack-signing-secret-0123456789"
HOOK_SECRET = "whsec_" + "c2VydmljZS13ZWJob29rLXNlY3JldA=="
DISCORD_TOKEN = "serviceDiscordToken0123456789"
APPROVER = "U0APPROVER"
SECRETS = (GITHUB_TOKEN, BOT_TOKEN, SIGNING_SECRET, HOOK_SECRET, DISCORD_TOKEN, API_KEY, SENTRY_TOKEN)


class World:
    def __init__(self, root: Path) -> None:
        work = make_shop_repo(root / "work")
        self.bare = root / "acme" / "shop.git"
        _git(root, "clone", "-q", "--bare", str(work), str(self.bare))
        self.github = FakeGitHub(token=GITHUB_TOKEN, repo_paths={"acme/shop": self.bare})
        self.llm = FakeAnthropic([])
        self.sentry = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
        self.slack = FakeSlack(token=BOT_TOKEN, channels=("C0FIXES",))
        self.discord = FakeDiscord(token=DISCORD_TOKEN)
        self.teams = FakeReceiver(status=202)
        self.hook = FakeReceiver()
        self.urls: dict[str, str] = {}

    def chats(self) -> dict[str, ChatFake]:
        return {"webhook": self.hook, "slack": self.slack, "discord": self.discord, "teams": self.teams}

    def messages(self, issue: str) -> dict[str, list[str]]:
        """Per notifier, the bodies it received about `issue`."""
        mine = f"/issues/{issue}/"  # every message links the issue
        return {name: [r.text for r in fake.requests if mine in r.text and "/actions/" not in r.path]
                for name, fake in self.chats().items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("world"))
    apps = {"github": w.github.app, "llm": w.llm.app, "sentry": w.sentry.app, "slack": w.slack.app,
            "discord": w.discord.app, "teams": w.teams.app, "hook": w.hook.app}
    with contextlib.ExitStack() as stack:
        for name, app in apps.items():
            w.urls[name] = stack.enter_context(serve_app(app))
        yield w


def start_service(world: World, workdir: Path) -> Service:
    u = world.urls
    return Service(workdir, u["sentry"], config={
        "scm": {"type": "github", "base-url": u["github"]},
        "projects": [{"source-project": "shop", "scm-repo": "acme/shop", "clone-url": f"{u['github']}/acme/shop.git"}],
        "llm": {"provider": "anthropic", "base-url": u["llm"], "max-steps": 10},
        "behavior": {"min-confidence": "HIGH"},
        "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        "notify": [
            {"type": "webhook", "jobs-url": "https://fixer.test/api/jobs"},
            {"type": "slack", "channel": "C0FIXES", "api-url": f"{u['slack']}/api", "approvers": [APPROVER]},
            {"type": "discord"},
            {"type": "teams"},
        ],
    }, env={"AUTOFIXER_LLM_KEY": API_KEY, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN,
            "AUTOFIXER_SLACK_BOT_TOKEN": BOT_TOKEN, "AUTOFIXER_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "AUTOFIXER_DISCORD_WEBHOOK_URL": f"{u['discord']}/api/webhooks/223704706495545344/{DISCORD_TOKEN}",
            "AUTOFIXER_TEAMS_WEBHOOK_URL": f"{u['teams']}/workflows/1/triggers/manual/paths/invoke?sig=abc",
            "AUTOFIXER_NOTIFY_WEBHOOK_URL": f"{u['hook']}/in", "AUTOFIXER_NOTIFY_WEBHOOK_SECRET": HOOK_SECRET}).start()


@pytest.fixture(scope="module")
def service(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(world, tmp_path_factory.mktemp("svc"))
    yield svc
    svc.stop()


def run_job(service: Service, world: World, issue: str, script: list[Any], *, leak: bool = True) -> dict[str, Any]:
    event = api_event(issue)
    if leak:  # an attacker-controlled event that carries one of our own tokens
        event["title"] = f"AttributeError leaked {GITHUB_TOKEN} {BOT_TOKEN}"
        event["message"] = f"token {GITHUB_TOKEN}"
    world.sentry.add_event(event, project_slug="shop")
    world.llm.script[:] = list(script)
    assert service.post_webhook(_webhook(issue), "issue").status_code == 202
    return service.wait_job(f"sentry:test-org:{issue}", timeout=90)["outcome"]


def assert_one_each(world: World, issue: str) -> dict[str, list[str]]:
    got = world.messages(issue)
    assert {k: len(v) for k, v in got.items()} == {"webhook": 1, "slack": 1, "discord": 1, "teams": 1}, got
    for bodies in got.values():
        for secret in SECRETS:
            assert secret not in bodies[0]
    return got


def test_pr_opened_held_back_and_failed_each_reach_every_notifier_once(service: Service, world: World) -> None:
    opened = run_job(service, world, "7001", SCRIPT)
    assert opened["publication"]["state"] == "opened", opened
    held = run_job(service, world, "7002", [*SCRIPT[:3], [_submit_call("MEDIUM")]])
    assert held["publication"]["state"] == "skipped" and "MEDIUM" in held["reason"], held
    world.github.fail_next("POST", "/pulls", 401)  # a revoked token: publishing fails at once
    failed = run_job(service, world, "7003", SCRIPT)
    assert failed["state"] == "failed", failed

    got = {issue: assert_one_each(world, issue) for issue in ("7001", "7002", "7003")}
    assert opened["pr_url"] in got["7001"]["slack"][0] and "Pull request opened" in got["7001"]["discord"][0]
    assert "No pull request" in got["7002"]["teams"][0]
    assert "Fix job failed" in got["7003"]["slack"][0]
    slack = {m["text"].split("\n")[0]: m for m in world.slack.messages}
    assert any(b["type"] == "actions" for m in slack.values() for b in m["blocks"])
    for request in world.hook.requests:  # every generic delivery verifies with the official library
        Webhook(HOOK_SECRET).verify(request.body, request.headers)
    assert not any(w for w in (opened["warnings"], held["warnings"], failed["warnings"]))


def click(service: Service, world: World, job_id: str, *, user: str = APPROVER, secret: str = SIGNING_SECRET,
          age: float = 0) -> httpx.Response:
    payload = {"type": "block_actions", "user": {"id": user}, "response_url": f"{world.urls['slack']}/actions/1",
               "actions": [{"action_id": "autofixer_open_pr", "value": job_id, "type": "button"}],
               "message": {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "held back"}}]}}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time() - age))
    return httpx.post(f"{service.url}/api/slack/actions", content=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(secret, ts, body)})


def wait_for(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_slack_approval_opens_the_held_back_pr_once(service: Service, world: World) -> None:
    held = run_job(service, world, "7004", [*SCRIPT[:3], [_submit_call("MEDIUM")]], leak=False)
    job = held["job_id"]
    branch = "fix/auto-fixer-sentry-7004"

    def pulls() -> list[dict[str, Any]]:
        return [p for p in world.github.pulls.get("acme/shop", []) if p["head"]["ref"] == branch]

    assert click(service, world, job, secret="wrong-secret").status_code == 401
    assert click(service, world, job, age=6 * 60).status_code == 401
    refused = click(service, world, job, user="U0INTRUDER")
    assert refused.status_code == 403 and not pulls()
    refusal = wait_for(lambda: world.slack.updates and world.slack.updates[-1]["text"])
    assert "not on this notifier's approvers" in refusal

    before = len(world.slack.updates)
    assert click(service, world, job).status_code == 200
    update = wait_for(lambda: len(world.slack.updates) > before and world.slack.updates[-1])
    [pull] = pulls()
    assert update["replace_original"] is True and pull["html_url"] in update["text"] and "opened" in update["text"]
    assert not any(b["type"] == "actions" for b in update["blocks"])
    assert pull["title"] == "fix: handle carts without discounts in apply_discount"
    diff = subprocess.run(["git", "diff", "main", branch], cwd=world.bare, check=True, capture_output=True,
                          text=True).stdout
    assert diff.strip() == held["fix"]["diff"].strip()

    again = len(world.slack.updates)
    assert click(service, world, job).status_code == 200
    second = wait_for(lambda: len(world.slack.updates) > again and world.slack.updates[-1])
    assert "already open" in second["text"] and pull["html_url"] in second["text"] and len(pulls()) == 1


def test_sigkill_between_the_pr_and_the_notification_still_sends_one(world: World,
                                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    svc = start_service(world, tmp_path_factory.mktemp("crash"))
    try:
        world.hook.hang_next(60)  # the first notifier receives the message and never answers
        event = api_event("7005")
        world.sentry.add_event(event, project_slug="shop")
        world.llm.script[:] = list(SCRIPT)
        assert svc.post_webhook(_webhook("7005"), "issue").status_code == 202
        wait_for(lambda: world.messages("7005")["webhook"])
        assert [p for p in world.github.pulls["acme/shop"] if p["head"]["ref"] == "fix/auto-fixer-sentry-7005"]
        svc.kill()  # the PR is open (its step checkpointed), the notifications are not done
        assert {k: len(v) for k, v in world.messages("7005").items()} == {"webhook": 1, "slack": 0, "discord": 0,
                                                                         "teams": 0}
        svc.start()
        outcome = svc.wait_job("sentry:test-org:7005", timeout=90)["outcome"]
    finally:
        svc.stop()
    assert outcome["publication"]["state"] in ("opened", "existing")
    got = world.messages("7005")
    assert {k: len(v) for k, v in got.items() if k != "webhook"} == {"slack": 1, "discord": 1, "teams": 1}
    # The interrupted delivery is repeated under the same webhook-id, so the receiver keeps one.
    ids = {r.headers["Webhook-Id"] for r in world.hook.requests if "/issues/7005/" in r.text}
    assert len(ids) == 1
    assert len([p for p in world.github.pulls["acme/shop"] if p["head"]["ref"] == "fix/auto-fixer-sentry-7005"]) == 1
