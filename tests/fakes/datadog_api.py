"""A fake Datadog API (Quart app) for the Error Tracking and spans search calls, for tests only.

Fed by the real recordings in shared/fixtures/apis/real/datadog/: the issue document of the
datadog-api-client cassette (JSON:API, `application/vnd.api+json`), the span of the spans-search
cassette, and the `error.*` tags of dd-trace-py's FastAPI 500 span as that span's error (which is
where Datadog keeps a span's tags: `attributes.custom`). Checks DD-API-KEY/DD-APPLICATION-KEY and
answers a bad pair the way Datadog does (403 `{"errors": ["Forbidden"]}`).
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir

ISSUE_ID = "5f8ebd5c-6dd9-11f0-8a28-da7ad0900002"  # the recorded issue
PYTHON_ISSUE_ID = "0b3c5a7e-1d2f-4e60-9a8b-7c6d5e4f3a21"  # the FastAPI error, filed as an issue of its own
JSONAPI = "application/vnd.api+json"


def load(name: str) -> Any:
    return json.loads((shared_dir() / "fixtures" / "apis" / "real" / "datadog" / name).read_text())


def recorded_issue() -> dict[str, Any]:
    cassette = load("datadog-api-client-python__error-tracking-search-and-get-issue.json")
    return copy.deepcopy(cassette[1]["response"]["body"])


def recorded_span_with_error() -> tuple[dict[str, Any], dict[str, str]]:
    search = load("datadog-api-client-python__spans-events-search_200_trimmed.json")
    span = copy.deepcopy(search[0]["response"]["body"]["data"][0])
    meta = load("dd-trace-py__tests.contrib.fastapi.test_fastapi.test_500_error_raised.json")[0][0]["meta"]
    return span, meta


@dataclass
class FakeDatadog:
    api_key: str
    app_key: str
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)  # issue documents by id
    spans: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sample spans by issue id
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    searches: list[dict[str, Any]] = field(default_factory=list)  # the event searches received
    _failures: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))

    def __post_init__(self) -> None:
        issue = recorded_issue()
        issue["data"]["attributes"]["state"] = "OPEN"  # recorded RESOLVED; open so it is listed
        self.issues[ISSUE_ID] = issue
        self.spans[ISSUE_ID] = []  # a browser issue: no span, the issue's own fields must do
        self.counts[ISSUE_ID] = {"total_count": 1, "impacted_sessions": 1}
        span, meta = recorded_span_with_error()
        attrs = span["attributes"]
        attrs["custom"]["error"] = {"message": meta["error.message"], "stack": meta["error.stack"],
                                    "type": meta["error.type"]}
        attrs["custom"]["issue"] = {"id": PYTHON_ISSUE_ID}
        attrs["service"] = "fastapi"
        python = copy.deepcopy(issue)
        python["data"]["id"] = PYTHON_ISSUE_ID
        python["data"]["attributes"].update(error_type=meta["error.type"], error_message=meta["error.message"],
                                            service="fastapi", languages=["PYTHON"], platform="BACKEND",
                                            file_path="tests/contrib/fastapi/app.py", function_name="error")
        self.issues[PYTHON_ISSUE_ID] = python
        self.spans[PYTHON_ISSUE_ID] = [span]
        self.counts[PYTHON_ISSUE_ID] = {"total_count": 42, "impacted_users": 7}
        self.app = self._build()

    def add_issue(self, issue_id: str, *, service: str, count: int, users: int = 0, like: str = PYTHON_ISSUE_ID,
                  env: str | None = None) -> None:
        doc = copy.deepcopy(self.issues[like])
        doc["data"]["id"] = issue_id
        doc["data"]["attributes"]["service"] = service
        self.issues[issue_id] = doc
        spans = copy.deepcopy(self.spans[like])
        for span in spans:
            span["attributes"]["custom"]["issue"] = {"id": issue_id}
            span["attributes"]["service"] = service
            if env is not None:
                span["attributes"]["env"] = env
        self.spans[issue_id] = spans
        self.counts[issue_id] = {"total_count": count, "impacted_users": users}

    def fail_next(self, issue_id: str, *statuses: int) -> None:
        self._failures[issue_id].extend(statuses)

    def _build(self) -> Quart:
        app = Quart(__name__)

        @app.get("/api/v2/error-tracking/issues/<issue_id>")
        async def get_issue(issue_id: str) -> Response:
            if (denied := self._check(issue_id)) is not None:
                return denied
            doc = self.issues.get(issue_id)
            if doc is None:
                return _errors(404, "Issue not found")
            return _json(doc)

        @app.post("/api/v2/error-tracking/issues/search")
        async def search_issues() -> Response:
            if (denied := self._check("search")) is not None:
                return denied
            body = await request.get_json(force=True, silent=True) or {}
            attrs = (body.get("data") or {}).get("attributes") or {}
            if not all(k in attrs for k in ("from", "to", "query")) or not (attrs.get("track") or attrs.get("persona")):
                return _errors(400, "from, to, query and track (or persona) are required")
            query = str(attrs["query"])
            found = [i for i, doc in self.issues.items()
                     if "service:" not in query or f'service:"{doc["data"]["attributes"]["service"]}"' in query]
            found.sort(key=lambda i: -self.counts[i].get("total_count", 0))
            data = [{"id": i, "type": "error_tracking_search_result", "attributes": dict(self.counts[i]),
                     "relationships": {"issue": {"data": {"id": i, "type": "issue"}}}} for i in found[:100]]
            out: dict[str, Any] = {"data": data}
            if request.args.get("include") == "issue":
                out["included"] = [self.issues[i]["data"] for i in found[:100]]
            return _json(out)

        @app.post("/api/v2/spans/events/search")
        async def search_spans() -> Response:
            body = await request.get_json(force=True, silent=True) or {}
            attrs = (body.get("data") or {}).get("attributes") or {}
            query = str((attrs.get("filter") or {}).get("query") or "")
            self.searches.append({"query": query})
            issue_id = query.removeprefix("@issue.id:") if query.startswith("@issue.id:") else ""
            if (denied := self._check(issue_id or "search")) is not None:
                return denied
            limit = int((attrs.get("page") or {}).get("limit") or 10)
            spans = self.spans.get(issue_id, [])[:limit]
            return _json({"data": spans, "meta": {"status": "done", "elapsed": 12}})

        return app

    def _check(self, key: str) -> Response | None:
        if (request.headers.get("DD-API-KEY"), request.headers.get("DD-APPLICATION-KEY")) != (self.api_key,
                                                                                              self.app_key):
            return _errors(403, "Forbidden")
        if queue := self._failures.get(key):
            status = queue.popleft()
            if status >= 500:
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status, content_type="text/html")
            return _errors(status, "Too many requests" if status == 429 else "Error")
        return None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type=JSONAPI)


def _errors(status: int, *messages: str) -> Response:
    return Response(json.dumps({"errors": list(messages)}), status, content_type="application/json")
