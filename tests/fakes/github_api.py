"""A fake GitHub (REST API + git smart HTTP) speaking GitHub's documented wire format, for tests.

Holds each repository's pull requests in memory and answers like api.github.com (or, with
`path_prefix="/api/v3"`, like a GitHub Enterprise Server, whose git is served on the same host):

- `GET  /repos/{o}/{r}/pulls?head=owner:branch&state=open` — GitHub's list filters (a `head`
  without `owner:` is ignored, as GitHub does, so every PR comes back);
- `POST /repos/{o}/{r}/pulls` — validation as GitHub answers it (422 `Validation Failed` with
  `missing_field` / `invalid` errors, "A pull request already exists for owner:branch.",
  "No commits between …"); with `repo_paths`, head and base must exist in that bare repository;
- `POST /repos/{o}/{r}/issues/{n}/labels` — 200 and the issue's labels as an array;
- `/{o}/{r}.git/...` — `git http-backend` over the bare repositories in `repo_paths`, behind
  Basic auth with the token as password (any user name), like github.com.

Every API response carries GitHub's rate-limit headers (`x-ratelimit-*`, reset in epoch
seconds). Bodies are built from recorded GitHub exchanges in `shared/fixtures/apis/real/github/`.
Failures are scripted per request (`fail_next`, `secondary_limit`, `primary_limit`), and the
request log records the timing of every write so tests can prove writes never overlapped.

    fake = FakeGitHub(token="ghp_x", repo_paths={"acme/shop": bare_repo})
    fake.secondary_limit("POST", "/pulls", retry_after=3)
    with serve_app(fake.app) as base_url:
        ...
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir

SUPPORTED_API_VERSIONS = ("2022-11-28",)
DOCS = "https://docs.github.com/rest"
CREATE_PR_DOCS = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
LIST_PR_DOCS = "https://docs.github.com/rest/pulls/pulls#list-pull-requests"
LABELS_DOCS = "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue"
SECONDARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
SECONDARY_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."

# The recorded pull request (hub4j createPullRequest, 2019) and the identifiers baked into it.
_TEMPLATE_API = "http://localhost:51456"
_TEMPLATE_REPO = "hub4j-test-org/github-api"
_TEMPLATE_OWNER = "hub4j-test-org"
_TEMPLATE_AUTHOR = "bitwiseman"
_TEMPLATE_NUMBER = "/273"
_TEMPLATE_HEAD_SHA = "2d29c787b46ce61b98a1c13e05e21ebc21f49dbf"
_TEMPLATE_BASE_SHA = "3a09d2de4a9a1322a0ba2c3e2f54a919ca8fe353"


def fixtures_dir() -> Path:
    return shared_dir() / "fixtures" / "apis" / "real" / "github"


def load_fixture(name: str) -> Any:
    return json.loads((fixtures_dir() / name).read_text())


def recorded_pull_request() -> dict[str, Any]:
    """The 201 body GitHub sent for `POST /pulls` (hub4j recording)."""
    return load_fixture("hub4j__create-pull-request_201_and_422-already-exists.json")[0]["response"]["body"]


def recorded_already_exists() -> dict[str, Any]:
    """The 422 body GitHub sent when an open PR for the head already existed (hub4j recording)."""
    return load_fixture("hub4j__create-pull-request_201_and_422-already-exists.json")[1]["response"]["body"]


def recorded_label() -> dict[str, Any]:
    """One label object from `POST /issues/1/labels` (octokit fixture)."""
    return load_fixture("octokit-fixtures__add-labels-to-issue.json")[1]["response"][0]


@dataclass
class Scripted:
    """One scripted answer for the next request whose method and path suffix match."""

    method: str
    path_suffix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0  # seconds to wait before answering (client timeouts)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]  # lower-case names
    started: float  # time.monotonic() when the handler began
    finished: float = 0.0
    status: int = 0


@dataclass
class FakeGitHub:
    token: str = "ghp_" + "fakeTokenValue000000000000000000000"  # built: no token-shaped literal
    path_prefix: str = ""  # "/api/v3" for a GitHub Enterprise Server
    repo_paths: dict[str, Path] = field(default_factory=dict)  # "owner/name" → bare repository
    web_url: str = "https://github.com"  # where html_url points
    login: str = "autofixer-bot"  # the user the token belongs to (PR author)
    rate_limit: int = 5000
    write_delay: float = 0.0  # seconds each write request is held, to make overlaps observable
    clock: Callable[[], float] = time.time
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    git_auth_seen: list[str | None] = field(default_factory=list)
    max_concurrent_writes: int = 0
    # A GitHub App: its id, the PEM public key its JWTs verify with, and its installations.
    app_id: str | None = None
    app_public_key: str | None = None
    installations: set[int] = field(default_factory=set)
    installation_tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch s)
    _scripted: list[Scripted] = field(default_factory=list)
    _in_flight_writes: int = 0
    _used: int = 0
    _next_id: int = 1000

    def __post_init__(self) -> None:
        self.path_prefix = self.path_prefix.rstrip("/")
        self._reset_at = int(self.clock()) + 3600
        self.app = self._build_app()

    # ── scripting and state ──────────────────────────────────────────────────────────────

    def fail_next(self, method: str, path_suffix: str, status: int, headers: dict[str, str] | None = None,
                  body: Any = None, *, delay: float = 0.0) -> None:
        """Answer the next `method` request whose path ends with `path_suffix` with this status
        (queued: several calls script several answers, in order)."""
        self._scripted.append(Scripted(method.upper(), path_suffix, status, dict(headers or {}), body, delay))

    def secondary_limit(self, method: str, path_suffix: str, *, retry_after: int | None = None,
                        status: int = 403) -> None:
        """GitHub's secondary rate limit: 403 (or 429), the documented message, maybe retry-after."""
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self.fail_next(method, path_suffix, status, headers,
                       {"message": SECONDARY_MESSAGE, "documentation_url": SECONDARY_DOCS})

    def primary_limit(self, method: str, path_suffix: str, *, reset: int, status: int = 403) -> None:
        """The primary rate limit is used up: x-ratelimit-remaining 0 until `reset` (epoch s)."""
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-used": str(self.rate_limit),
                   "x-ratelimit-reset": str(reset)}
        body = {"message": "API rate limit exceeded for user ID 1000.", "documentation_url": PRIMARY_DOCS}
        self.fail_next(method, path_suffix, status, headers, body)

    def add_pull(self, repo: str, head: str, base: str = "main", *, title: str = "existing", body: str = "",
                 state: str = "open", draft: bool = False, labels: tuple[str, ...] = ()) -> dict[str, Any]:
        """Seed a pull request (as if opened earlier); returns its object."""
        sha = _fake_sha(f"{repo}:{head}")
        pull = self._pull_object(repo, head, base, title=title, body=body, draft=draft,
                                 head_sha=sha, base_sha=_fake_sha(f"{repo}:{base}"), api_root=self._api_root(None))
        pull["labels"] = [self._label_object(repo, name, None) for name in labels]
        self._set_state(pull, state)
        return pull

    def close_pull(self, repo: str, number: int) -> None:
        self._set_state(self._pull(repo, number), "closed")

    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.method != "GET"]

    def find(self, method: str, path_suffix: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    # ── HTTP plumbing ────────────────────────────────────────────────────────────────────

    def _build_app(self) -> Quart:
        app = Quart(__name__)
        api = f"{self.path_prefix}/repos/<owner>/<name>"

        @app.route(f"{api}/pulls", methods=["GET", "POST"])
        async def pulls(owner: str, name: str) -> Response:
            handler = self._list_pulls if request.method == "GET" else self._create_pull
            return await self._api(handler, f"{owner}/{name}")

        @app.post(f"{api}/issues/<int:number>/labels")
        async def labels(owner: str, name: str, number: int) -> Response:
            return await self._api(self._add_labels, f"{owner}/{name}", number)

        @app.post(f"{self.path_prefix}/app/installations/<int:installation>/access_tokens")
        async def access_tokens(installation: int) -> Response:
            return await self._api(self._mint_token, installation)

        @app.route("/<owner>/<name>/info/refs")
        async def git_refs(owner: str, name: str) -> Response:
            return await self._git(owner, name, "info/refs")

        @app.post("/<owner>/<name>/<any('git-upload-pack', 'git-receive-pack'):service>")
        async def git_service(owner: str, name: str, service: str) -> Response:
            return await self._git(owner, name, service)

        return app

    async def _api(self, handler: Callable[..., Any], *args: Any) -> Response:
        body = await request.get_data()
        logged = LoggedRequest(
            method=request.method, path=request.path,
            query={k: request.args.getlist(k) for k in request.args},
            json=_parse_json(body), headers={k.lower(): v for k, v in request.headers.items()},
            started=time.monotonic(),
        )
        self.requests.append(logged)
        write = request.method != "GET"
        if write:
            self._in_flight_writes += 1
            self.max_concurrent_writes = max(self.max_concurrent_writes, self._in_flight_writes)
        try:
            if write and self.write_delay:
                await asyncio.sleep(self.write_delay)
            response = await self._answer(handler, args, body)
        finally:
            if write:
                self._in_flight_writes -= 1
            logged.finished = time.monotonic()
        logged.status = response.status_code
        return response

    async def _answer(self, handler: Callable[..., Any], args: tuple[Any, ...], body: bytes) -> Response:
        self._used += 1
        if (refused := self._check_headers()) is not None:
            return refused
        if (scripted := self._take_scripted()) is not None:
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
            return self._json(scripted.body if scripted.body is not None else _default_body(scripted.status),
                              scripted.status, scripted.headers)
        parsed = _parse_json(body)
        if body and parsed is None:
            return self._json({"message": "Problems parsing JSON", "documentation_url": DOCS}, 400)
        return await handler(*args, parsed) if request.method != "GET" else await handler(*args)

    def _check_headers(self) -> Response | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if not auth:
            return self._json({"message": "Requires authentication", "documentation_url": DOCS, "status": "401"}, 401)
        if request.path.endswith("/access_tokens"):
            return self._check_app_jwt(value if scheme.lower() == "bearer" else "")
        # GitHub takes both "Bearer <token>" and the older "token <token>".
        if scheme.lower() not in ("bearer", "token") or not self._token_ok(value):
            return self._json({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, 401)
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in SUPPORTED_API_VERSIONS:
            # Unsupported versions are a 400 (docs: "API Versions"); the wording here is ours.
            return self._json({"message": f"Unsupported 'X-GitHub-Api-Version' header value: {version}",
                               "documentation_url": "https://docs.github.com/rest/overview/api-versions",
                               "status": "400"}, 400)
        return None

    def _token_ok(self, value: str) -> bool:
        return value == self.token or self.installation_tokens.get(value, 0.0) > self.clock()

    def _check_app_jwt(self, value: str) -> Response | None:
        """GitHub's checks of an app JWT: RS256 by this app's key, `iss` the app, `exp` ahead."""
        import jwt  # only app tests need it

        recorded = load_fixture("pygithub__app-installation-access-tokens.json")[1]["response"]["body"]
        try:
            claims = jwt.decode(value, self.app_public_key or "", algorithms=["RS256"],
                                options={"verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError:
            return self._json({"message": "A JSON web token could not be decoded", "documentation_url": DOCS}, 401)
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.clock():
            return self._json(recorded, 401)
        if str(claims.get("iss")) != self.app_id:
            return self._json({"message": "Integration not found", "documentation_url": DOCS}, 401)
        return None

    async def _mint_token(self, installation: int, data: Any = None) -> Response:
        responses = load_fixture("pygithub__app-installation-access-tokens.json")
        if installation not in self.installations:
            return self._json(responses[2]["response"]["body"], 404)
        # Tokens of varying length, as GitHub's stateless `ghs_APPID_JWT` format has.
        token = f"ghs_{self.app_id}_" + _fake_sha(f"{installation}:{len(self.installation_tokens)}")
        token += "x" * len(self.installation_tokens)
        expires = int(self.clock()) + 3600
        self.installation_tokens[token] = expires
        body = dict(responses[0]["response"]["body"], token=token,
                    expires_at=datetime.fromtimestamp(expires, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return self._json(body, 201)

    def _take_scripted(self) -> Scripted | None:
        for i, scripted in enumerate(self._scripted):
            if scripted.method == request.method and request.path.endswith(scripted.path_suffix):
                return self._scripted.pop(i)
        return None

    def _rate_headers(self) -> dict[str, str]:
        now = int(self.clock())
        if now >= self._reset_at:  # a new hourly window
            self._reset_at, self._used = now + 3600, 1
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(self.rate_limit - self._used, 0)),
            "x-ratelimit-reset": str(self._reset_at),
            "x-ratelimit-used": str(self._used),
            "x-ratelimit-resource": "core",
        }

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {
            **self._rate_headers(),
            "x-github-api-version-selected": request.headers.get("X-GitHub-Api-Version", SUPPORTED_API_VERSIONS[0]),
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"FAKE:{len(self.requests):08X}",
            **{k.lower(): v for k, v in (headers or {}).items()},
        }
        return Response(json.dumps(body), status, merged, content_type="application/json; charset=utf-8")

    def _api_root(self, host_url: str | None) -> str:
        return f"{(host_url or 'http://github.invalid/').rstrip('/')}{self.path_prefix}"

    # ── pulls ────────────────────────────────────────────────────────────────────────────

    async def _list_pulls(self, repo: str) -> Response:
        if (missing := self._unknown_repo(repo, LIST_PR_DOCS)) is not None:
            return missing
        args = request.args
        state = args.get("state", "open")
        pulls = [p for p in self.pulls.get(repo, []) if state == "all" or p["state"] == state]
        head = args.get("head")
        # GitHub only understands `user:ref-name` here and ignores anything else.
        if head and ":" in head:
            pulls = [p for p in pulls if p["head"]["label"].lower() == head.lower()]
        if base := args.get("base"):
            pulls = [p for p in pulls if p["base"]["ref"] == base]
        pulls = sorted(pulls, key=lambda p: p["number"], reverse=True)
        per_page = min(max(int(args.get("per_page", 30)), 1), 100)
        page = max(int(args.get("page", 1)), 1)
        chunk = pulls[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(pulls):
            url = f"{request.host_url.rstrip('/')}{request.path}?per_page={per_page}&page={page + 1}&state={state}"
            headers["link"] = f'<{url}>; rel="next"'
        return self._json(chunk, 200, headers)

    async def _create_pull(self, repo: str, data: Any) -> Response:
        if (missing := self._unknown_repo(repo, CREATE_PR_DOCS)) is not None:
            return missing
        if not isinstance(data, dict):
            return self._json({"message": "Problems parsing JSON", "documentation_url": DOCS}, 400)
        if errors := _missing_fields(data):
            return self._validation_failed(errors)
        owner = repo.split("/", 1)[0]
        head_owner, _, head = data["head"].rpartition(":")
        head_owner = head_owner or owner
        base = data["base"]
        head_sha, base_sha = await self._branch_sha(repo, head), await self._branch_sha(repo, base)
        if base_sha is None:
            return self._validation_failed([{"resource": "PullRequest", "field": "base", "code": "invalid"}])
        if head_sha is None or head_owner.lower() != owner.lower():
            return self._validation_failed([{"resource": "PullRequest", "field": "head", "code": "invalid"}])
        if self._open_for(repo, head, base):
            body = copy.deepcopy(recorded_already_exists())
            body["errors"][0]["message"] = f"A pull request already exists for {owner}:{head}."
            return self._json(body, 422)
        if head_sha == base_sha:
            return self._validation_failed(
                [{"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}]
            )
        pull = self._pull_object(repo, head, base, title=data["title"], body=data.get("body") or "",
                                 draft=bool(data.get("draft", False)), head_sha=head_sha, base_sha=base_sha,
                                 api_root=self._api_root(request.host_url))
        pull["maintainer_can_modify"] = bool(data.get("maintainer_can_modify", False))
        return self._json(pull, 201, {"location": pull["url"]})

    def _pull_object(self, repo: str, head: str, base: str, *, title: str, body: str, draft: bool,
                     head_sha: str, base_sha: str, api_root: str) -> dict[str, Any]:
        """The recorded 201 body with this repository's names, numbers and commits put in."""
        owner, name = repo.split("/", 1)
        number = self._next_number(repo)
        raw = json.dumps(recorded_pull_request())
        for old, new in (
            (f"{_TEMPLATE_API}/repos/{_TEMPLATE_REPO}", f"{api_root}/repos/{repo}"),
            (f"https://github.com/{_TEMPLATE_REPO}", f"{self.web_url}/{repo}"),
            (_TEMPLATE_API, api_root),
            ('"https://github.com/', f'"{self.web_url}/'),
            (_TEMPLATE_REPO, repo),
            ('"github-api"', json.dumps(name)),
            (_TEMPLATE_OWNER, owner),
            (_TEMPLATE_AUTHOR, self.login),
            (_TEMPLATE_NUMBER, f"/{number}"),
            (_TEMPLATE_HEAD_SHA, head_sha),
            (_TEMPLATE_BASE_SHA, base_sha),
        ):
            raw = raw.replace(old, new)
        pull: dict[str, Any] = json.loads(raw)
        now = datetime.fromtimestamp(self.clock(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._next_id += 1
        pull.update(
            id=self._next_id, node_id=base64.b64encode(f"PR_{self._next_id}".encode()).decode(), number=number,
            state="open", title=title, body=body, draft=draft, labels=[], created_at=now, updated_at=now,
            closed_at=None, merged_at=None, auto_merge=None, merged=False, mergeable=None,
            mergeable_state="unknown", requested_reviewers=[], comments=0, review_comments=0, commits=1,
        )
        pull["head"].update(label=f"{owner}:{head}", ref=head, sha=head_sha)
        pull["base"].update(label=f"{owner}:{base}", ref=base, sha=base_sha)
        self.pulls.setdefault(repo, []).append(pull)
        return pull

    def _next_number(self, repo: str) -> int:
        # PRs share the issue number space; this fake holds no plain issues.
        return max((p["number"] for p in self.pulls.get(repo, [])), default=0) + 1

    def _open_for(self, repo: str, head: str, base: str) -> dict[str, Any] | None:
        return next((p for p in self.pulls.get(repo, [])
                     if p["state"] == "open" and p["head"]["ref"] == head and p["base"]["ref"] == base), None)

    def _pull(self, repo: str, number: int) -> dict[str, Any]:
        return next(p for p in self.pulls.get(repo, []) if p["number"] == number)

    def _set_state(self, pull: dict[str, Any], state: str) -> None:
        pull["state"] = state
        pull["closed_at"] = None if state == "open" else pull["updated_at"]

    async def _branch_sha(self, repo: str, branch: str) -> str | None:
        """The branch's commit in the configured bare repository; any name when none is configured."""
        path = self.repo_paths.get(repo)
        if path is None:
            return _fake_sha(f"{repo}:{branch}")
        proc = await asyncio.create_subprocess_exec(
            "git", "--git-dir", str(path), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        return out.decode().strip() if proc.returncode == 0 else None

    def _unknown_repo(self, repo: str, docs: str) -> Response | None:
        if self.repo_paths and repo not in self.repo_paths:
            return self._json({"message": "Not Found", "documentation_url": docs, "status": "404"}, 404)
        return None

    def _validation_failed(self, errors: list[dict[str, str]]) -> Response:
        return self._json({"message": "Validation Failed", "errors": errors, "documentation_url": CREATE_PR_DOCS}, 422)

    # ── labels ───────────────────────────────────────────────────────────────────────────

    async def _add_labels(self, repo: str, number: int, data: Any) -> Response:
        if (missing := self._unknown_repo(repo, LABELS_DOCS)) is not None:
            return missing
        pull = next((p for p in self.pulls.get(repo, []) if p["number"] == number), None)
        if pull is None:
            return self._json({"message": "Not Found", "documentation_url": LABELS_DOCS, "status": "404"}, 404)
        names = _label_names(data)
        if names is None:
            return self._json({"message": "Invalid request.\n\nFor 'links/0/schema', nil is not an array.",
                               "documentation_url": LABELS_DOCS, "status": "422"}, 422)
        have = {label["name"].lower() for label in pull["labels"]}
        for label_name in names:
            if label_name.lower() not in have:  # label names are case-insensitive on GitHub
                pull["labels"].append(self._label_object(repo, label_name, request.host_url))
                have.add(label_name.lower())
        return self._json(pull["labels"], 200)

    def _label_object(self, repo: str, name: str, host_url: str | None) -> dict[str, Any]:
        label = copy.deepcopy(recorded_label())
        self._next_id += 1
        label.update(id=self._next_id, name=name,
                     url=f"{self._api_root(host_url)}/repos/{repo}/labels/{name}")
        return label

    # ── git smart HTTP ───────────────────────────────────────────────────────────────────

    async def _git(self, owner: str, name: str, service: str) -> Response:
        path = self.repo_paths.get(f"{owner}/{name.removesuffix('.git')}")
        if not name.endswith(".git") or path is None:
            return Response("Not Found", 404, content_type="text/plain")
        auth = request.headers.get("Authorization")
        self.git_auth_seen.append(auth)
        if not any(_basic_password_is(auth, t) for t in (self.token, *self.installation_tokens)
                   if self._token_ok(t)):
            return Response("Invalid username or token.", 401, {"www-authenticate": 'Basic realm="GitHub"'},
                            content_type="text/plain")
        return await http_backend(path, service, "x-access-token")


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _missing_fields(data: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    # GitHub reports a missing title against the Issue a PR is built on (recorded answers).
    if not isinstance(data.get("title"), str) or not data["title"].strip():
        errors.append({"resource": "Issue", "code": "missing_field", "field": "title"})
    for key in ("head", "base"):
        if not isinstance(data.get(key), str) or not data[key]:
            errors.append({"resource": "PullRequest", "code": "missing_field", "field": key})
    return errors


def _label_names(data: Any) -> list[str] | None:
    """`{"labels": [...]}` (recommended), a bare array, or `{"labels": [{"name": ...}]}`."""
    labels = data.get("labels") if isinstance(data, dict) else data
    if not isinstance(labels, list):
        return None
    names = [item.get("name") if isinstance(item, dict) else item for item in labels]
    return names if all(isinstance(n, str) and n for n in names) else None


def _default_body(status: int) -> Any:
    if status >= 500:
        return {"message": "Server Error"}
    return {"message": {401: "Bad credentials", 403: "Forbidden", 404: "Not Found"}.get(status, "Error"),
            "documentation_url": DOCS, "status": str(status)}


def _basic_password_is(auth: str | None, token: str) -> bool:
    scheme, _, encoded = (auth or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        _user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return False
    return password == token


async def http_backend(path: Path, service: str, user: str) -> Response:
    """The current request, answered by `git http-backend` for the bare repository at `path`
    (`user` is who the forge authenticated: it lets http-backend accept pushes)."""
    body = await request.get_data()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(path.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "REMOTE_USER": user,
        "PATH_INFO": f"/{path.name}/{service}",
        "QUERY_STRING": request.query_string.decode(),
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
    }
    proc = await asyncio.create_subprocess_exec(
        "git", "http-backend", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(body)
    return _cgi_response(out)


def _cgi_response(out: bytes) -> Response:
    head, _, payload = out.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.lower() == b"status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip().decode()] = value.strip().decode()
    return Response(payload, status, headers)


def _fake_sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


__all__ = [
    "FakeGitHub",
    "LoggedRequest",
    "Scripted",
    "http_backend",
    "load_fixture",
    "recorded_already_exists",
    "recorded_label",
    "recorded_pull_request",
]
