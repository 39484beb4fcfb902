"""The webhook intake over real HTTP: a real `autofixer serve` process, a fake Sentry API."""

from __future__ import annotations

import copy
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from sources.sentry.webhook import sign
from tests.fakes.sentry_api import Failure, FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, WEBHOOK_SECRET, Service

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow

ISSUE_WEBHOOK = "webhook-issue-created.json"
ISSUE_ID = "1170820242"  # the issue in the recorded issue/error webhooks
ALERT_ISSUE_ID = "1117540176"  # the issue in the recorded event_alert webhook


def _event_for(issue_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
    event["groupID"] = issue_id
    return event


@pytest.fixture(scope="module")
def sentry() -> Iterator[tuple[FakeSentry, str]]:
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    for issue_id in (ISSUE_ID, ALERT_ISSUE_ID):
        fake.add_event(_event_for(issue_id), project_slug="front-end")
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="module")
def service(sentry: tuple[FakeSentry, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = Service(tmp_path_factory.mktemp("svc"), sentry[1]).start()
    yield svc
    svc.stop()


def _reached_the_fix_stage(outcome: dict[str, Any]) -> bool:
    """Intake, fetch, normalise and project matching worked; the fix stage then stops for want
    of an LLM key (these tests are about intake; test_service_fix.py runs the agent)."""
    return outcome["stages"] == ["fetch_event", "fix"] and outcome["state"] == "failed" \
        and "AUTOFIXER_LLM_KEY" in outcome["reason"]


def _fixture_bytes(name: str) -> bytes:
    return json.dumps(load_fixture(name)).encode()


def test_issue_created_is_accepted_then_fetched_and_normalised(
    service: Service, sentry: tuple[FakeSentry, str]
) -> None:
    response = service.post_webhook(_fixture_bytes(ISSUE_WEBHOOK), "issue")
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert job_id == f"sentry:test-org:{ISSUE_ID}"
    job = service.wait_job(job_id)
    assert job["workflow_status"] == "SUCCESS"
    outcome = job["outcome"]
    assert _reached_the_fix_stage(outcome), outcome
    assert outcome["project"] == "front-end" and outcome["repo"] == "acme/front-end"
    assert outcome["event"]["exceptions"][-1]["type"] == "Error"
    assert outcome["issue_url"].endswith(f"/organizations/test-org/issues/{ISSUE_ID}/")
    assert f"/api/0/organizations/test-org/issues/{ISSUE_ID}/events/latest/" in sentry[0].paths()
    # Same issue again, as an `error` webhook: the same job, not a second one.
    again = service.post_webhook(_fixture_bytes("webhook-error-created.json"), "error")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_event_alert_starts_a_fix_for_its_issue(service: Service) -> None:
    response = service.post_webhook(_fixture_bytes("webhook-event-alert-triggered.json"), "event_alert")
    assert response.status_code == 202, response.text
    assert response.json()["job_id"] == f"sentry:test-org:{ALERT_ISSUE_ID}"
    outcome = service.wait_job(response.json()["job_id"])["outcome"]
    assert _reached_the_fix_stage(outcome) and outcome["project"] == "front-end"


def test_installation_and_other_actions_are_acknowledged_and_ignored(service: Service) -> None:
    response = service.post_webhook(_fixture_bytes("webhook-installation-created.json"), "installation")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    resolved = load_fixture(ISSUE_WEBHOOK)
    resolved["action"] = "resolved"
    assert service.post_webhook(json.dumps(resolved).encode(), "issue").json()["status"] == "ignored"
    assert service.post_webhook(b'{"action": "created", "data": {}}', "comment").status_code == 200


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",  # empty
        "zz" * 32,  # malformed hex
        "abc123",  # wrong length
        sign(b"some other body", WEBHOOK_SECRET),  # stale: a signature from another delivery
        sign(_fixture_bytes(ISSUE_WEBHOOK), "an-old-rotated-out-secret"),  # forged / old secret
    ],
)
def test_bad_signatures_are_401(service: Service, signature: str | None) -> None:
    body = _fixture_bytes(ISSUE_WEBHOOK)
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": "issue"}
    if signature is not None:
        headers["Sentry-Hook-Signature"] = signature
    response = httpx.post(f"{service.url}/api/webhook/sentry", content=body, headers=headers)
    assert response.status_code == 401
    assert "signature" in response.json()["error"].lower()


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"action": "created", "data": {"issue": {"id": "12', {}, 400),  # truncated JSON
        (b"\xff\xfe not utf-8", {}, 400),
        (b"[1, 2, 3]", {}, 400),  # JSON but not an object
        (b'{"action": "created", "data": {"issue": {"title": "no id"}}}', {}, 400),
        (b'{"action": "created", "data": {"issue": {"id": "../../etc"}}}', {}, 400),
        (b'{"action": "created", "data": "nope"}', {}, 400),
        (b'{"action": "created"}', {"Sentry-Hook-Resource": ""}, 400),  # no resource header
        (b'{"action": "created"}', {"Content-Type": "text/plain"}, 415),
    ],
)
def test_malformed_deliveries_are_4xx(service: Service, body: bytes, headers: dict[str, str], status: int) -> None:
    response = service.post_webhook(body, "issue", headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]


def test_a_5_mib_body_is_413_and_the_service_keeps_serving(service: Service) -> None:
    big = b'{"action": "created", "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = service.post_webhook(big, "issue")
    assert response.status_code == 413
    # Chunked upload with no Content-Length: cut at the cap too.
    chunked = httpx.post(
        f"{service.url}/api/webhook/sentry",
        content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
        headers={"Content-Type": "application/json", "Sentry-Hook-Resource": "issue",
                 "Sentry-Hook-Signature": sign(big, WEBHOOK_SECRET)},
    )
    assert chunked.status_code == 413
    assert httpx.get(f"{service.url}/health").status_code == 200


def test_secret_rotation_accepts_every_configured_secret(sentry: tuple[FakeSentry, str], tmp_path: Path) -> None:
    svc = Service(tmp_path, sentry[1], env={"AUTOFIXER_WEBHOOK_SECRET": f"new-secret-abc, {WEBHOOK_SECRET}"}).start()
    try:
        body = load_fixture(ISSUE_WEBHOOK)
        body["data"]["issue"]["id"] = "777001"
        assert svc.post_webhook(body, "issue", secret="new-secret-abc").status_code == 202
        body["data"]["issue"]["id"] = "777002"
        assert svc.post_webhook(body, "issue", secret=WEBHOOK_SECRET).status_code == 202
        assert svc.post_webhook(body, "issue", secret="never-configured").status_code == 401
    finally:
        svc.stop()


def test_fifty_concurrent_duplicates_make_one_job(service: Service, sentry: tuple[FakeSentry, str]) -> None:
    body = load_fixture(ISSUE_WEBHOOK)
    body["data"]["issue"]["id"] = "5550001"
    raw = json.dumps(body).encode()
    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(lambda _: service.post_webhook(raw, "issue").status_code, range(50)))
    assert codes.count(202) == 1 and codes.count(200) == 49, codes
    job = service.wait_job("sentry:test-org:5550001")
    # The fake has no event for this issue: the job fails visibly with Sentry's 404 reason.
    assert job["outcome"]["state"] == "failed" and "404" in job["outcome"]["reason"]
    latest = [p for p in sentry[0].paths() if "/5550001/events/latest/" in p]
    assert len(latest) == 2  # org-scoped path, then the legacy fallback: one job fetched once


def test_unknown_project_is_recorded_as_skipped(service: Service, sentry: tuple[FakeSentry, str]) -> None:
    sentry[0].add_event(_event_for("5550002"), project_slug="not-configured")
    body = load_fixture(ISSUE_WEBHOOK)
    body["data"]["issue"].update(id="5550002", project={"id": "9", "slug": "not-configured", "name": "x"})
    job_id = service.post_webhook(body, "issue").json()["job_id"]
    outcome = service.wait_job(job_id)["outcome"]
    assert outcome["state"] == "skipped" and "not-configured" in outcome["reason"]
    refused = httpx.post(f"{service.url}/api/jobs/{job_id}/retry")
    assert refused.status_code == 409 and "only a failed job" in refused.json()["error"]


def test_sentry_outage_is_retried_then_recorded(service: Service, sentry: tuple[FakeSentry, str]) -> None:
    sentry[0].add_event(_event_for("5550003"), project_slug="front-end")
    sentry[0].fail_next("5550003", Failure(429, retry_after="0"), 502, Failure(None, hang_seconds=0.0))
    body = load_fixture(ISSUE_WEBHOOK)
    body["data"]["issue"]["id"] = "5550003"
    outcome = service.wait_job(service.post_webhook(body, "issue").json()["job_id"])["outcome"]
    assert _reached_the_fix_stage(outcome), outcome
    sentry[0].add_event(_event_for("5550004"), project_slug="front-end")
    sentry[0].fail_next("5550004", *([503] * 10))
    body["data"]["issue"]["id"] = "5550004"
    outcome = service.wait_job(service.post_webhook(body, "issue").json()["job_id"])["outcome"]
    assert outcome["state"] == "failed" and "503" in outcome["reason"]


def test_a_failed_job_can_be_retried_under_the_same_id(service: Service, sentry: tuple[FakeSentry, str]) -> None:
    body = load_fixture(ISSUE_WEBHOOK)
    body["data"]["issue"]["id"] = "5550005"
    sentry[0].add_event(_event_for("5550005"), project_slug="front-end")
    sentry[0].fail_next("5550005", *([503] * 5))  # an outage as long as the 5 attempts
    job_id = service.post_webhook(body, "issue").json()["job_id"]
    assert service.wait_job(job_id)["outcome"]["state"] == "failed"
    assert service.post_webhook(body, "issue").json()["status"] == "duplicate"  # redelivery: no loop
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "retry", job_id, "--url", service.url],
        capture_output=True, text=True, timeout=60, env=service.env,
    )
    assert result.returncode == 0, result.stderr
    outcome = service.wait_job(job_id)["outcome"]
    assert _reached_the_fix_stage(outcome) and outcome["trigger"] == "retry"
    assert httpx.post(f"{service.url}/api/jobs/sentry:test-org:404404/retry").status_code == 404


def test_health_ready_and_metrics(service: Service) -> None:
    assert httpx.get(f"{service.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{service.url}/health/ready").json() == {"status": "ready"}
    text = httpx.get(f"{service.url}/metrics").text
    assert "# TYPE autofixer_webhooks_total counter" in text
    assert 'autofixer_webhooks_total{outcome="bad_signature"}' in text
    assert "autofixer_job_duration_seconds_count" in text
    assert 'autofixer_jobs{state="queued"}' in text


def test_unknown_routes_and_methods_are_4xx(service: Service) -> None:
    assert httpx.get(f"{service.url}/api/webhook/sentry").status_code == 405
    assert httpx.get(f"{service.url}/nope").status_code == 404


def test_every_log_line_is_logfmt_once(service: Service) -> None:
    lines = [line for line in service.log().splitlines() if line.strip()]
    # The CLI's own start-up lines ("autofixer: …") aside, hypercorn's and DBOS's too are ours.
    assert all(line.startswith(("ts=", "autofixer: ")) for line in lines), [
        line for line in lines if not line.startswith(("ts=", "autofixer: "))]
    assert sum("Running on http://" in line for line in lines) == 1
    failed = [line for line in lines if "msg=\"job failed" in line]
    assert failed and all("level=warning" in line for line in failed)


def test_job_logs_carry_the_issue_id_and_no_secret(service: Service) -> None:
    lines = [line for line in service.log().splitlines() if "job started" in line]
    assert lines and all("issue=" in line for line in lines)
    assert SENTRY_TOKEN not in service.log() and WEBHOOK_SECRET not in service.log()


def test_the_jobs_api_needs_the_api_token_when_one_is_set(sentry: tuple[FakeSentry, str], tmp_path: Path) -> None:
    svc = Service(tmp_path, sentry[1], env={"AUTOFIXER_API_TOKEN": "test-api-token-not-real"}).start()
    try:
        url = f"{svc.url}/api/jobs/sentry:test-org:1"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer test-api-token-not-real"}).status_code == 404
    finally:
        svc.stop()


def test_bound_beyond_loopback_the_jobs_api_needs_a_token(sentry: tuple[FakeSentry, str], tmp_path: Path) -> None:
    svc = Service(tmp_path, sentry[1], config={"server": {"host": "0.0.0.0"}}).start()
    try:
        assert httpx.get(f"{svc.url}/api/jobs/sentry:test-org:1").status_code == 401
        assert httpx.get(f"{svc.url}/health").status_code == 200
        # No AUTOFIXER_API_TOKEN: the service made one in its state dir, for its owner only…
        token_file = tmp_path / "state" / "api-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 40 and token not in svc.log()
        answer = httpx.get(f"{svc.url}/api/jobs/sentry:test-org:1", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 404  # let in: there is just no such job
        # …and `autofixer retry` on this host (the README's path) reads it.
        retry = subprocess.run(
            [sys.executable, "-m", "server.cli", "--config", str(svc.config_path), "retry", "sentry:test-org:1",
             "--url", svc.url], capture_output=True, text=True, timeout=60, env=svc.env, cwd=tmp_path,
        )
        assert retry.returncode == 1 and "no job sentry:test-org:1" in retry.stderr, retry.stderr
    finally:
        svc.stop()
    # A restart keeps the token (clients that read it once stay valid).
    again = Service(tmp_path, sentry[1], config={"server": {"host": "0.0.0.0"}}).start()
    try:
        assert (tmp_path / "state" / "api-token").read_text().strip() == token
    finally:
        again.stop()
