"""Property: no webhook delivery, however malformed, makes the service answer 5xx, on every
source's route (Sentry, Datadog, Rollbar).

Signed or not, any body and any headers get a 2xx or a 4xx: a 5xx would make the tracker retry
a poison delivery forever. Runs the real Quart app in-process (an in-memory intake stands in for
the job store, which has its own tests) so hypothesis can try thousands of deliveries quickly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.config import Secrets, parse_settings
from server.http import app as app_module
from server.http.app import create_app
from server.metrics import Metrics
from server.pipeline import runtime
from sources.sentry.webhook import sign
from tests.fakes.sentry_api import load_fixture

SECRET = "fuzz-webhook-secret-not-real"
EXAMPLES = 2000


class MemoryIntake:
    """Accepts jobs into a dict: what the webhook needs of the job store, no more."""

    queue: Any = None

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        return self.jobs.setdefault(job_id, request) is request

    def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        pass


class MemoryJobs:
    """The job store the webhook submits to (server/pipeline/submit.JobStore), over MemoryIntake."""

    def __init__(self, intake: MemoryIntake) -> None:
        self.intake = intake

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        return await self.intake.accept(job_id, request)

    async def finished(self, job_id: str) -> tuple[dict[str, Any] | None, float | None]:
        return None, None

    async def replace(self, job_id: str, request: dict[str, Any]) -> None:
        self.intake.jobs[job_id] = request


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, asyncio.AbstractEventLoop]]:
    state = tmp_path_factory.mktemp("fuzz")
    config = parse_settings({
        "sources": [{"type": "sentry", "org": "fuzz-org"}, {"type": "datadog"}, {"type": "rollbar"}],
        "state-dir": str(Path(state)),
    })
    secrets = Secrets(config, environ={"AUTOFIXER_WEBHOOK_SECRET": SECRET, "AUTOFIXER_DATADOG_WEBHOOK_SECRET": SECRET,
                                       "AUTOFIXER_ROLLBAR_WEBHOOK_SECRET": SECRET})
    intake = MemoryIntake()
    original = runtime.open_intake

    async def open_intake(_: Any) -> MemoryIntake:
        return intake

    runtime.open_intake = open_intake  # type: ignore[assignment]
    original_jobs = app_module.IntakeJobs
    app_module.IntakeJobs = MemoryJobs  # type: ignore[assignment,misc]
    app = create_app(config, secrets, Metrics(), manage_runtime=False)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.startup())
    try:
        yield app.test_client(), loop
    finally:
        loop.run_until_complete(app.shutdown())
        loop.close()
        runtime.open_intake = original  # type: ignore[assignment]
        app_module.IntakeJobs = original_jobs  # type: ignore[misc]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
REAL = [load_fixture(name) for name in ("webhook-issue-created.json", "webhook-error-created.json",
                                        "webhook-event-alert-triggered.json")]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated-real", "nested"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "nested":  # deep nesting used to reach json's recursion limit: a 503 then
        depth = draw(st.integers(min_value=100, max_value=100_000))
        return ("[" * depth + "]" * draw(st.integers(0, depth))).encode()
    body = json.loads(json.dumps(draw(st.sampled_from(REAL))))
    path = draw(st.lists(st.sampled_from(["data", "issue", "event", "error", "id", "issue_id", "project", "url",
                                          "action"]), min_size=1, max_size=3))
    node: Any = body
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node[path[-1]] = draw(JSON)
    return json.dumps(body).encode()


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(body=bodies(), signed=st.booleans(), resource=st.sampled_from(["issue", "error", "event_alert",
                                                                      "installation", "", "comment"]) | HEADER_TEXT,
       content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8"])
       | HEADER_TEXT,
       extra=st.dictionaries(st.sampled_from(["Sentry-Hook-Signature", "Sentry-Hook-Timestamp", "Request-ID",
                                              "Content-Length"]), HEADER_TEXT, max_size=2),
       route=st.sampled_from(["sentry", "sentry", "datadog", "rollbar", "unknown", "Sentry"]))
def test_no_delivery_gets_a_5xx(client: tuple[Any, asyncio.AbstractEventLoop], body: bytes, signed: bool,
                                resource: str, content_type: str, extra: dict[str, str], route: str) -> None:
    test_client, loop = client
    headers = {"Content-Type": content_type, "Sentry-Hook-Resource": resource, **extra}
    if signed:  # as each tracker authenticates: Sentry signs the body, the others send a shared token
        headers["Sentry-Hook-Signature"] = sign(body, SECRET)
        headers["X-Autofixer-Token"] = SECRET
    headers.pop("Content-Length", None)  # the test client computes it; a wrong one is not a body problem
    response = loop.run_until_complete(test_client.post(f"/api/webhook/{route}", data=body, headers=headers))
    assert response.status_code < 500, (response.status_code, body[:200], headers)
    assert response.status_code in (200, 202, 400, 401, 404, 413, 415)


def test_deeply_nested_json_in_a_signed_delivery_is_a_400(client: tuple[Any, asyncio.AbstractEventLoop]) -> None:
    test_client, loop = client
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": "issue",
               "Sentry-Hook-Signature": sign(body, SECRET)}
    response = loop.run_until_complete(test_client.post("/api/webhook/sentry", data=body, headers=headers))
    assert response.status_code == 400


def test_an_oversized_slack_action_is_a_413_not_a_500(client: tuple[Any, asyncio.AbstractEventLoop]) -> None:
    test_client, loop = client
    body = b"payload=" + b"x" * 100_000
    response = loop.run_until_complete(test_client.post(
        "/api/slack/actions", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert response.status_code == 413
