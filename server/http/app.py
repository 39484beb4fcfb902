"""The HTTP surface: webhook intake per source, health, metrics and a read-only jobs API.

`POST /api/webhook/<source name>` (e.g. /api/webhook/sentry) is served by server/http/webhook.py,
in front of this Quart app; everything else is here. Every input problem is a 4xx; a 500 means
a bug and is logged as one.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from dbos import DBOS
from quart import Quart, Response, request

from server import connectors
from server.config import Secrets, Settings
from server.http import admin_token
from server.http import slack_actions as slack_handler
from server.http.webhook import WebhookRoute
from server.metrics import Metrics
from server.pipeline import runtime
from server.pipeline.intake import Intake
from server.pipeline.job_stores import IntakeJobs
from server.pipeline.jobs import JobRequest, job_state
from server.pipeline.sweep import start_pollers

log = logging.getLogger("autofixer.http")


def _json(http_status: int, /, **body: Any) -> Response:
    return Response(json.dumps(body), status=http_status, content_type="application/json")


class _TooLarge(Exception):
    pass


async def _read_body(limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.body:
        size += len(chunk)
        if size > limit:  # chunked or lying Content-Length: stop reading at the cap
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings, secrets: Secrets, metrics: Metrics, *, manage_runtime: bool = True,
               built: connectors.Connectors | None = None) -> Quart:
    app = Quart("autofixer")
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    app.config["BODY_TIMEOUT"] = 10
    state: dict[str, Intake] = {}
    built = built or connectors.Connectors.build(settings, secrets)  # the jobs share them (runtime.start)
    sources = built.sources
    # Accepted bearer tokens for the jobs API: the operator's, and the one in the state dir.
    api_tokens = [t for t in (secrets.api_token, admin_token.ensure(settings.state_dir)) if t]
    pollers: list[asyncio.Task[None]] = []

    @app.before_serving
    async def _start() -> None:
        if manage_runtime:
            await asyncio.to_thread(runtime.start, settings, secrets, metrics, built)
        state["intake"] = await runtime.open_intake(settings)
        for name in sources:
            log.info("listening for %s webhooks on /api/webhook/%s", sources[name].label, name)
        pollers.extend(start_pollers(settings, sources, IntakeJobs(state["intake"])))

    @app.after_serving
    async def _stop() -> None:
        for poller in pollers:
            poller.cancel()
        if "intake" in state:
            await state["intake"].close()
        if manage_runtime:
            await asyncio.to_thread(runtime.stop)
        await built.aclose()

    @app.post("/api/slack/actions")
    async def slack_actions() -> Response:
        """The "Open pull request" button of a held-back analysis (see slack_actions.py)."""
        try:
            body = await _read_body(64 * 1024)  # a button click is a few KB
        except _TooLarge:
            return _json(413, error="body larger than 65536 bytes")
        answer = await slack_handler.handle(settings, secrets, {k.lower(): v for k, v in request.headers.items()}, body)
        return _json(answer.status, **answer.body)

    @app.get("/health")
    async def health() -> Response:
        return _json(200, status="ok")

    @app.get("/health/ready")
    async def ready() -> Response:
        if "intake" in state and not state["intake"].healthy():
            return _json(503, status="unavailable", reason="webhook intake stopped; restart the service")
        try:
            await asyncio.wait_for(DBOS.list_workflows_async(limit=1, load_input=False, load_output=False), 3)
        except Exception as exc:
            return _json(503, status="unavailable", reason=f"job store not reachable: {type(exc).__name__}")
        return _json(200, status="ready")

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        try:
            depth = await asyncio.wait_for(runtime.queue_depth(), 3)
        except Exception:
            depth = None
        return Response(metrics.render(depth), content_type="text/plain; version=0.0.4")

    @app.get("/api/jobs/<path:job_id>")
    async def job_status(job_id: str) -> Response:
        if not _may_read_jobs(settings, api_tokens, bool(secrets.api_token)):
            return _json(401, error=_JOBS_API_AUTH)
        status = await DBOS.get_workflow_status_async(job_id)
        if status is None:
            return _json(404, error=f"no job {job_id}")
        stage = await DBOS.get_event_async(job_id, "stage", timeout_seconds=0)
        return _json(200, job_id=job_id, status=job_state(status.status, status.output), workflow_status=status.status,
                     stage=stage, outcome=status.output)

    @app.post("/api/jobs/<path:job_id>/retry")
    async def retry_job(job_id: str) -> Response:
        """Run a failed job again under the same id (an outage outlasted its retries, a token was
        fixed): redeliveries never do this, or a job that always fails would loop."""
        if not _may_read_jobs(settings, api_tokens, bool(secrets.api_token)):
            return _json(401, error=_JOBS_API_AUTH)
        status = await DBOS.get_workflow_status_async(job_id)
        if status is None:
            return _json(404, error=f"no job {job_id}")
        outcome = status.output if isinstance(status.output, dict) else {}
        current = job_state(status.status, status.output)
        if current != "failed":
            return _json(409, error=f"job {job_id} is {current}: only a failed job is retried")
        args = status.input.get("args") if isinstance(status.input, dict) else None
        first = args[0] if isinstance(args, (list, tuple)) and args else None
        previous: dict[str, Any] = first if isinstance(first, dict) else {}
        retry = JobRequest(source=str(outcome.get("source") or previous.get("source") or "sentry"),
                           issue_id=str(outcome.get("issue_id") or job_id.rsplit(":", 1)[-1]),
                           project=outcome.get("project"), title=outcome.get("title") or "", trigger="retry",
                           validate_fix=True)
        await IntakeJobs(state["intake"]).replace(job_id, retry.model_dump())
        log.info("job %s queued again (retry after: %s)", job_id, outcome.get("reason") or status.status)
        return _json(202, status="accepted", job_id=job_id)

    @app.errorhandler(404)
    async def not_found(_: Exception) -> Response:
        return _json(404, error="not found")

    @app.errorhandler(405)
    async def not_allowed(_: Exception) -> Response:
        return _json(405, error="method not allowed")

    @app.errorhandler(413)
    async def too_large(_: Exception) -> Response:
        return _json(413, error=f"body larger than {settings.server.max_body_bytes} bytes")

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        # A bug, not an outage: 503 would make the sender retry a poison delivery forever. Only
        # "could not store the job" is a 503 (answered where it happens); no input reaches here
        # (tests/test_webhook_fuzz.py), and if one ever does it is logged as the bug it is.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _json(500, error="internal error")

    # The webhook route is served in front of Quart's request machinery (server/http/webhook.py).
    app.asgi_app = WebhookRoute(  # type: ignore[method-assign]
        app.asgi_app, settings, sources, metrics, lambda: IntakeJobs(state["intake"]))
    return app


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_JOBS_API_AUTH = ("the jobs API needs 'Authorization: Bearer <token>': $AUTOFIXER_API_TOKEN, "
                  "or the service's state-dir/api-token")


def _may_read_jobs(settings: Settings, tokens: list[str], operator_token: bool) -> bool:
    """Job outcomes hold event data and analyses. A valid bearer token always answers: the
    operator's AUTOFIXER_API_TOKEN, or the state dir's `api-token` (what `autofixer retry` on the
    same host sends). Without an operator token, a service bound to loopback also answers
    loopback clients; bound wider (or in Docker), a reverse proxy on the same host would make
    every visitor look local, so there only the token answers."""
    given = request.headers.get("Authorization", "").encode()
    matched = False
    for token in tokens:  # no early exit: each token costs the same, whichever matches
        matched |= hmac.compare_digest(given, f"Bearer {token}".encode())
    if matched:
        return True
    return (not operator_token and settings.server.host in _LOOPBACK
            and (request.remote_addr or "") in _LOOPBACK)
