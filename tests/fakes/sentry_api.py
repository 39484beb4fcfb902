"""A fake Sentry REST API (Quart app) speaking the documented wire format, for tests only.

Serves real API-format events and issue details from `shared/fixtures/sentry/real/` as they
are, checks the bearer token, paginates the issue list with Sentry's `Link` header, and can be
scripted to fail (429 with Retry-After / X-Sentry-Rate-Limit-Reset, 5xx, slow answers) or to
behave like an old self-hosted install that only knows the legacy `/api/0/issues/...` paths.

    fake = FakeSentry(token="t0k", org="acme")
    fake.fail_next("64", 500, Failure(429, retry_after="1"))
    with serve_app(fake.app) as base_url:
        ...
    assert [r.path for r in fake.requests] == [...]
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir

LIST = "list"  # fail_next() key for the issue list endpoint

# (fixture file, path to the API-format event inside it, project slug to file it under)
EVENT_FIXTURES: list[tuple[str, tuple[str | int, ...], str]] = [
    ("sentry-mcp-event-javascript.json", (), "CLOUDFLARE-MCP"),
    ("seer-autofix-request-python.json", ("issue", "events", 0), "seer"),
    (
        "api-schema-latest-event-javascript.json",
        ("get", "responses", "200", "content", "application/json", "example"),
        "javascript-example",
    ),
    ("glitchtip-oss-sentry-go_file_not_found.json", (), "go-app"),
    ("glitchtip-oss-sentry-python_zero_division.json", (), "django-app"),
    ("glitchtip-oss-sentry-dotnet_divide_zero.json", (), "dotnet-app"),
    ("glitchtip-oss-sentry-elixir_error.json", (), "elixir-app"),
]
ISSUE_FIXTURE = "sentry-mcp-issue.json"

# Bodies as Sentry (Django REST framework + its middlewares) sends them.
DETAIL = {
    401: "Invalid token",
    403: "You do not have permission to perform this action.",
    404: "The requested resource does not exist",
    429: "You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds",
}


def fixtures_dir() -> Path:
    return shared_dir() / "fixtures" / "sentry" / "real"


def load_fixture(name: str, *path: str | int) -> Any:
    data: Any = json.loads((fixtures_dir() / name).read_text())
    for key in path:
        data = data[key]
    return data


@dataclass
class Failure:
    """One scripted bad answer. `status=None` with `hang_seconds` = slow, then a normal answer."""

    status: int | None = 500
    retry_after: str | None = None  # Retry-After header value (seconds or HTTP date)
    rate_limit_reset: float | None = None  # X-Sentry-Rate-Limit-Reset, epoch seconds
    hang_seconds: float = 0.0


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names


@dataclass
class FakeSentry:
    token: str = "sntrys_fake_token"
    org: str = "acme"
    path_prefix: str = ""  # e.g. "/sentry" for an install served under a sub-path
    legacy_only: bool = False  # old self-hosted: organization-scoped paths answer 404
    page_size: int = 100  # server-side cap on `limit`, to force pagination in tests
    load_fixtures: bool = True
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # latest event by issue id
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)  # issue details by issue id
    requests: list[LoggedRequest] = field(default_factory=list)
    _failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))

    def __post_init__(self) -> None:
        if self.load_fixtures:
            template = load_fixture(ISSUE_FIXTURE)
            self.issues[str(template["id"])] = template  # served exactly as recorded
            for name, path, slug in EVENT_FIXTURES:
                self.add_event(load_fixture(name, *path), project_slug=slug)
        self.app = self._build_app()

    # ── state ────────────────────────────────────────────────────────────────────────────

    def add_event(self, event: dict[str, Any], *, project_slug: str = "app") -> str:
        """Register `event` as its issue's latest; derive issue details if none are loaded."""
        issue_id = str(event["groupID"])
        self.events[issue_id] = event
        if issue_id not in self.issues:
            self.issues[issue_id] = self._issue_for(event, project_slug)
        return issue_id

    def fail_next(self, key: str | int, *failures: int | Failure) -> None:
        """Answer the next requests about issue `key` (or `LIST`) with these failures, in order."""
        for failure in failures:
            self._failures[str(key)].append(failure if isinstance(failure, Failure) else Failure(failure))

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _issue_for(self, event: dict[str, Any], slug: str) -> dict[str, Any]:
        """Issue details in GroupSerializer shape: the recorded issue with this event's facts."""
        issue = copy.deepcopy(load_fixture(ISSUE_FIXTURE))
        issue_id = str(event["groupID"])
        project_id = str(event.get("projectID") or "1")
        seen = event.get("dateCreated")
        issue.update(
            id=issue_id,
            shortId=f"{slug.upper()}-{len(self.issues) + 1}",
            title=event.get("title", ""),
            culprit=event.get("culprit") or "",
            platform=event.get("platform"),
            type=event.get("type", "error"),
            metadata=event.get("metadata") or {},
            firstSeen=seen,
            lastSeen=seen,
            status="unresolved",
            permalink=f"https://sentry.example.com/organizations/{self.org}/issues/{issue_id}/",
            project={"id": project_id, "name": slug, "slug": slug, "platform": event.get("platform")},
        )
        return issue

    # ── HTTP ─────────────────────────────────────────────────────────────────────────────

    def _build_app(self) -> Quart:
        app = Quart(__name__)
        api = f"{self.path_prefix}/api/0"

        @app.get(f"{api}/organizations/<org>/issues/<issue_id>/events/latest/")
        async def org_latest_event(org: str, issue_id: str) -> Response:
            return await self._serve(issue_id, org=org, body=lambda: self.events.get(issue_id))

        @app.get(f"{api}/organizations/<org>/issues/<issue_id>/")
        async def org_issue(org: str, issue_id: str) -> Response:
            return await self._serve(issue_id, org=org, body=lambda: self.issues.get(issue_id))

        @app.get(f"{api}/organizations/<org>/issues/")
        async def org_issue_list(org: str) -> Response:
            return await self._serve(LIST, org=org, body=None)

        @app.get(f"{api}/issues/<issue_id>/events/latest/")
        async def legacy_latest_event(issue_id: str) -> Response:
            return await self._serve(issue_id, org=None, body=lambda: self.events.get(issue_id))

        @app.get(f"{api}/issues/<issue_id>/")
        async def legacy_issue(issue_id: str) -> Response:
            return await self._serve(issue_id, org=None, body=lambda: self.issues.get(issue_id))

        return app

    async def _serve(self, key: str, *, org: str | None, body: Any) -> Response:
        self.requests.append(
            LoggedRequest(
                method=request.method,
                path=request.path,
                query={k: request.args.getlist(k) for k in request.args},
                headers={k.lower(): v for k, v in request.headers.items()},
            )
        )
        auth = request.headers.get("Authorization", "")
        if not auth:
            return _json({"detail": "Authentication credentials were not provided."}, 401)
        if auth != f"Bearer {self.token}":
            return _json({"detail": DETAIL[401]}, 401)

        if queue := self._failures.get(key):
            failure = queue.popleft()
            if failure.hang_seconds:
                await asyncio.sleep(failure.hang_seconds)
            if failure.status is not None:
                return _failure(failure)

        if org is not None and (self.legacy_only or org != self.org):
            return _json({"detail": DETAIL[404]}, 404)
        if body is None:
            return self._issue_list()
        found = body()
        return _json(found) if found is not None else _json({"detail": DETAIL[404]}, 404)

    def _issue_list(self) -> Response:
        args = request.args
        issues = list(self.issues.values())

        projects = args.getlist("project")
        if any(not p.lstrip("-").isdigit() for p in projects):
            return _json({"detail": "Invalid project parameter. Values must be numbers."}, 400)
        if projects and "-1" not in projects:
            issues = [i for i in issues if str(i["project"]["id"]) in projects]
        if slugs := args.getlist("projectSlug"):
            issues = [i for i in issues if i["project"]["slug"] in slugs]
        # A missing `query` means is:unresolved; `query=` means everything. Only the status
        # filter is understood here; other search terms are accepted and ignored.
        query = args.get("query", "is:unresolved")
        if "is:unresolved" in query.split():
            issues = [i for i in issues if i.get("status") == "unresolved"]
        if args.get("sort", "date") == "date":
            issues.sort(key=lambda i: i.get("lastSeen") or "", reverse=True)

        per_page = min(int(args.get("limit", 100)), self.page_size, 100)
        offset = int(args.get("cursor", "0:0:0").split(":")[1])
        page = issues[offset : offset + per_page]
        has_next = offset + per_page < len(issues)
        links = ", ".join(
            [
                _link("previous", f"0:{max(offset - per_page, 0)}:1", offset > 0),
                _link("next", f"0:{offset + per_page}:0", has_next),
            ]
        )
        return _json(page, headers={"Link": links, "X-Hits": str(len(issues))})


def _link(rel: str, cursor: str, has_results: bool) -> str:
    """One entry of Sentry's Link header (sentry.api.base.LINK_HEADER), absolute URL."""
    query = urlencode([(k, v) for k in request.args if k != "cursor" for v in request.args.getlist(k)])
    url = f"{request.host_url.rstrip('/')}{request.path}?{query}&cursor={cursor}"
    return f'<{url}>; rel="{rel}"; results="{str(has_results).lower()}"; cursor="{cursor}"'


def _failure(failure: Failure) -> Response:
    status = failure.status or 500
    headers: dict[str, str] = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = failure.retry_after
    if failure.rate_limit_reset is not None:
        headers["X-Sentry-Rate-Limit-Limit"] = "40"
        headers["X-Sentry-Rate-Limit-Remaining"] = "0"
        headers["X-Sentry-Rate-Limit-Reset"] = str(int(failure.rate_limit_reset))
    if status >= 500:
        # Sentry's 5xx come from the web server / load balancer, usually not as JSON.
        return Response("<html><body><h1>Server Error</h1></body></html>", status, headers, content_type="text/html")
    return _json({"detail": DETAIL.get(status, "Error")}, status, headers=headers)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers or {}, content_type="application/json")
