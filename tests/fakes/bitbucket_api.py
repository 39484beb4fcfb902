"""Fakes of Bitbucket Cloud (REST 2.0) and Bitbucket Data Center (REST 1.0), with git smart HTTP.

Bitbucket Cloud (`FakeBitbucket`):
- `GET  /2.0/repositories/{workspace}/{slug}/pullrequests?q=source.branch.name="B" AND state="OPEN"`
  (the BBQL subset autofixer sends: `=` comparisons joined by AND) → a page `{values, pagelen, size, page}`;
- `POST …/pullrequests` → 201 and the PR, with `Location`; a destination branch that does not
  exist is the recorded 400 `{"type": "error", "error": {"fields": …, "message": …}}`; a POST
  for a branch pair that already has an open PR answers **201 with that PR** (only `updated_on`
  changes), as recorded;
- auth: `Authorization: Bearer <access token>`, or Basic `<basic_user>:<token>` when `basic_user`
  is set (API tokens, app passwords); else the recorded plain-text 401; an unknown repository is
  the recorded 404 JSON;
- `/{workspace}/{slug}.git/...` — git behind Basic auth: the token as password and, when
  `git_user` is set, exactly that user (`x-token-auth` for access tokens).

Bitbucket Data Center (`FakeBitbucketDataCenter`):
- `GET  /rest/api/1.0/projects/{KEY}/repos/{slug}/pull-requests?at=refs/heads/B&direction=OUTGOING&state=OPEN`;
- `POST …/pull-requests` → 201 (recorded body); a second open PR for the same refs is the recorded
  409 `DuplicatePullRequestException` with `existingPullRequest`;
- auth: `Authorization: Bearer <HTTP access token>`; errors are `{"errors": [{context, message,
  exceptionName}]}` (recorded 404s);
- `/scm/{key}/{slug}.git/...` — git behind Bearer auth (project and repository tokens take no other).

Bodies are the recorded exchanges in `shared/fixtures/apis/real/bitbucket/`, with this request's values.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

from tests.fakes.forge_base import FakeForge, basic_credentials, bearer_token
from tests.fixtures_path import shared_dir

_BBQL_TERM = re.compile(r'^\s*([a-z_.]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')


def _fixture(name: str) -> Any:
    return json.loads((shared_dir() / "fixtures" / "apis" / "real" / "bitbucket" / name).read_text())


def recorded_cloud_pull_request() -> dict[str, Any]:
    recorded = _fixture("sourcegraph__cloud-create-pullrequest_400_201_201-repost.json")
    body: dict[str, Any] = recorded[1]["response"]["body"]
    return body


def recorded_cloud_errors() -> list[dict[str, Any]]:
    return [item["response"] for item in _fixture("sourcegraph__cloud-errors_401-text_404-repo-json_404-pr-text.json")]


def recorded_dc_pull_request() -> dict[str, Any]:
    body: dict[str, Any] = _fixture("sourcegraph__datacenter-create-pull-request_201.json")[0]["response"]["body"]
    return body


def recorded_dc_duplicate() -> dict[str, Any]:
    recorded = _fixture("sourcegraph__datacenter-create-pull-request_409-duplicate.json")
    body: dict[str, Any] = recorded[0]["response"]["body"]
    return body


def recorded_dc_no_repo() -> dict[str, Any]:
    body: dict[str, Any] = _fixture(
        "sourcegraph__datacenter-get-pull-request_404-no-such-pr_404-no-such-repo.json")[1]["response"]["body"]
    return body


def parse_bbql(query: str) -> dict[str, str] | None:
    """`a.b="x" AND c="y"` → {"a.b": "x", "c": "y"}; None for anything else."""
    terms: dict[str, str] = {}
    for part in re.split(r"\s+AND\s+", query.strip()):
        match = _BBQL_TERM.match(part)
        if match is None:
            return None
        terms[match[1]] = re.sub(r"\\(.)", r"\1", match[2])
    return terms


# ── Bitbucket Cloud ──────────────────────────────────────────────────────────────────────────


@dataclass
class FakeBitbucket(FakeForge):
    basic_user: str | None = None  # API tokens / app passwords: Basic with this user
    git_user: str | None = None  # the user git must send (None: any)
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def routes(self, app: Quart) -> None:
        @app.route("/2.0/repositories/<workspace>/<slug>/pullrequests", methods=["GET", "POST"])
        async def pullrequests(workspace: str, slug: str) -> Response:
            return await self.api(self._list if request.method == "GET" else self._create, f"{workspace}/{slug}")

    def refuse_api(self) -> Response | None:
        auth = request.headers.get("Authorization")
        creds = basic_credentials(auth)
        if bearer_token(auth) == self.token or (creds is not None and creds == (self.basic_user, self.token)):
            return None
        recorded = recorded_cloud_errors()[0]
        return Response(recorded["body"], 401, {"www-authenticate": 'Basic realm="Bitbucket.org HTTP"'},
                        content_type="text/plain")

    def git_allowed(self, auth: str | None) -> bool:
        creds = basic_credentials(auth)
        return creds is not None and creds[1] == self.token and self.git_user in (None, creds[0])

    def error_body(self, status: int, message: str) -> Any:
        return {"type": "error", "error": {"message": message}}

    def add_pull(self, repo: str, source: str, destination: str = "main", *, title: str = "existing") -> dict[str, Any]:
        return self._pull(repo, source, destination, title=title, description="", close=False, draft=False, sha=None)

    async def _list(self, repo: str) -> Response:
        if repo not in self.repo_paths:
            return self.json(recorded_cloud_errors()[1]["body"], 404)
        terms = parse_bbql(request.args.get("q", "")) if request.args.get("q") else {}
        if terms is None:
            return self.json(self.error_body(400, "Invalid query"), 400)
        fields = {"source.branch.name": lambda p: p["source"]["branch"]["name"],
                  "destination.branch.name": lambda p: p["destination"]["branch"]["name"],
                  "state": lambda p: p["state"]}
        # Without a q, Bitbucket lists OPEN pull requests only.
        terms = terms or {"state": "OPEN"}
        values = [p for p in self.pulls.get(repo, [])
                  if all(k in fields and fields[k](p) == v for k, v in terms.items())]
        return self.json({"values": values, "pagelen": 10, "size": len(values), "page": 1})

    async def _create(self, repo: str, data: Any) -> Response:
        if repo not in self.repo_paths:
            return self.json(recorded_cloud_errors()[1]["body"], 404)
        try:
            title, source = data["title"], data["source"]["branch"]["name"]
            destination = (data.get("destination") or {"branch": {"name": "main"}})["branch"]["name"]
        except (KeyError, TypeError):
            return self.json(self.error_body(400, "title and source.branch.name are required"), 400)
        sha = await self.branch_sha(repo, source)
        if sha is None:
            return self.json({"type": "error", "error": {"fields": {"source": [f"branch not found: {source}"]},
                                                         "message": f"source: branch not found: {source}"}}, 400)
        if await self.branch_sha(repo, destination) is None:
            return self.json({"type": "error", "error": {
                "fields": {"destination": [f"branch not found: {destination}"]},
                "message": f"destination: branch not found: {destination}"}}, 400)
        open_one = next((p for p in self.pulls.get(repo, []) if p["state"] == "OPEN"
                         and p["source"]["branch"]["name"] == source
                         and p["destination"]["branch"]["name"] == destination), None)
        if open_one is not None:  # recorded: the same pair again is a 201 with the same PR
            open_one["updated_on"] = self.now_iso()
            return self.json(open_one, 201, {"location": open_one["links"]["self"]["href"]})
        pull = self._pull(repo, source, destination, title=title, description=data.get("description") or "",
                          close=bool(data.get("close_source_branch", False)), draft=bool(data.get("draft", False)),
                          sha=sha)
        return self.json(pull, 201, {"location": pull["links"]["self"]["href"]})

    def _pull(self, repo: str, source: str, destination: str, *, title: str, description: str, close: bool,
              draft: bool, sha: str | None) -> dict[str, Any]:
        number = max((p["id"] for p in self.pulls.get(repo, [])), default=0) + 1
        raw = json.dumps(recorded_cloud_pull_request()).replace("sourcegraph-testing/src-cli", repo)
        for old in ("pullrequests/2", "pull-requests/2"):
            raw = raw.replace(old, old.replace("/2", f"/{number}"))
        pull: dict[str, Any] = json.loads(raw)
        now = self.now_iso()
        pull.update(id=number, title=title, description=description, close_source_branch=close, draft=draft,
                    state="OPEN", created_on=now, updated_on=now)
        pull["summary"] = {"raw": description, "markup": "markdown", "html": "", "type": "rendered"}
        pull["rendered"] = copy.deepcopy(pull["rendered"])
        pull["source"]["branch"]["name"], pull["destination"]["branch"]["name"] = source, destination
        pull["source"]["commit"]["hash"] = sha
        self.pulls.setdefault(repo, []).append(pull)
        return pull


# ── Bitbucket Data Center ────────────────────────────────────────────────────────────────────


@dataclass
class FakeBitbucketDataCenter(FakeForge):
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    git_prefix = "/scm"

    def routes(self, app: Quart) -> None:
        @app.route("/rest/api/1.0/projects/<key>/repos/<slug>/pull-requests", methods=["GET", "POST"])
        async def pull_requests(key: str, slug: str) -> Response:
            return await self.api(self._list if request.method == "GET" else self._create, f"{key}/{slug}")

    def refuse_api(self) -> Response | None:
        if bearer_token(request.headers.get("Authorization")) == self.token:
            return None
        return self.json(self.error_body(401, "Authentication failed. Please check your credentials and try again.",
                                         "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"), 401)

    def git_allowed(self, auth: str | None) -> bool:
        return bearer_token(auth) == self.token  # project/repository tokens: Bearer only

    def git_repo(self, path: str) -> str:
        key, _, slug = path.partition("/")
        return next((repo for repo in self.repo_paths if repo.lower() == f"{key}/{slug}".lower()), path)

    def error_body(self, status: int, message: str, exception: str = "com.atlassian.bitbucket.ServiceException") -> Any:
        return {"errors": [{"context": None, "message": message, "exceptionName": exception}]}

    def add_pull(self, repo: str, source: str, target: str = "main", *, title: str = "existing") -> dict[str, Any]:
        return self._pull(repo, source, target, title=title, description="", sha=None)

    async def _list(self, repo: str) -> Response:
        if repo not in self.repo_paths:
            return self.json(recorded_dc_no_repo(), 404)
        args = request.args
        state = args.get("state", "OPEN")
        at = args.get("at")
        side = "toRef" if args.get("direction", "INCOMING") == "INCOMING" else "fromRef"
        values = [p for p in self.pulls.get(repo, [])
                  if state in ("ALL", p["state"]) and (at is None or p[side]["id"] == at)]
        return self.json({"size": len(values), "limit": 25, "isLastPage": True, "values": values, "start": 0})

    async def _create(self, repo: str, data: Any) -> Response:
        if repo not in self.repo_paths:
            return self.json(recorded_dc_no_repo(), 404)
        try:
            title, from_id, to_id = data["title"], data["fromRef"]["id"], data["toRef"]["id"]
        except (KeyError, TypeError):
            return self.json(self.error_body(400, "title, fromRef and toRef are required"), 400)
        source, target = from_id.removeprefix("refs/heads/"), to_id.removeprefix("refs/heads/")
        sha = await self.branch_sha(repo, source)
        if sha is None or await self.branch_sha(repo, target) is None:
            return self.json(self.error_body(409, f"Repository \"{repo}\" has no branch {source} or {target}.",
                                             "com.atlassian.bitbucket.pull.InvalidPullRequestRefException"), 409)
        clash = next((p for p in self.pulls.get(repo, []) if p["state"] == "OPEN"
                      and p["fromRef"]["id"] == from_id and p["toRef"]["id"] == to_id), None)
        if clash is not None:
            body = copy.deepcopy(recorded_dc_duplicate())
            body["errors"][0]["existingPullRequest"] = clash
            return self.json(body, 409)
        pull = self._pull(repo, source, target, title=title, description=data.get("description") or "", sha=sha)
        pull["draft"] = bool(data.get("draft", False))
        return self.json(pull, 201, {"location": pull["links"]["self"][0]["href"]})

    def _pull(self, repo: str, source: str, target: str, *, title: str, description: str,
              sha: str | None) -> dict[str, Any]:
        key, slug = repo.split("/", 1)
        number = max((p["id"] for p in self.pulls.get(repo, [])), default=0) + 1
        pull = copy.deepcopy(recorded_dc_pull_request())
        now_ms = int(self.clock() * 1000)
        pull.update(id=number, title=title, description=description, state="OPEN", open=True, closed=False,
                    createdDate=now_ms, updatedDate=now_ms,
                    links={"self": [{"href": f"https://bitbucket.example.com/projects/{key}/repos/{slug}"
                                             f"/pull-requests/{number}"}]})
        for side, branch in (("fromRef", source), ("toRef", target)):
            pull[side].update(id=f"refs/heads/{branch}", displayId=branch)
            pull[side]["repository"].update(slug=slug, name=slug)
            pull[side]["repository"]["project"]["key"] = key
        pull["fromRef"]["latestCommit"] = sha
        self.pulls.setdefault(repo, []).append(pull)
        return pull


__all__ = ["FakeBitbucket", "FakeBitbucketDataCenter", "parse_bbql"]
