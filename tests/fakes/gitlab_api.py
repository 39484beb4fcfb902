"""A fake GitLab (REST v4 merge requests + git smart HTTP) speaking GitLab's documented format.

- `GET  /api/v4/projects/:id/merge_requests?source_branch=&target_branch=&state=opened`;
- `POST /api/v4/projects/:id/merge_requests` — `source_branch`, `target_branch`, `title` required
  (400 `{"error": "title is missing"}`), both branches must exist in the bare repository (422),
  and a second open MR for the same source and target is the documented 409
  `{"message": ["Another open merge request already exists for this source branch: !N"]}`;
- `:id` is the numeric project id or the URL-encoded path (`group%2Fsub%2Fproject`): an
  unencoded path is a 404, as on GitLab, where it would not route;
- auth: `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`, else 401
  `{"message": "401 Unauthorized"}`; an unknown project is `{"message": "404 Project Not Found"}`;
- every answer carries `RateLimit-*` headers (reset in epoch seconds);
- `/{path}.git/...` — `git http-backend` behind Basic auth with the token as password.

MR bodies are the recorded 201 of `shared/fixtures/apis/real/gitlab/` with this request's values.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from quart import Quart, Response, request

from tests.fakes.forge_base import FakeForge, bearer_token
from tests.fixtures_path import shared_dir


def recorded_merge_request() -> dict[str, Any]:
    path = shared_dir() / "fixtures" / "apis" / "real" / "gitlab" / "sourcegraph__create-merge-request_201.json"
    body: dict[str, Any] = json.loads(path.read_text())[0]["response"]["body"]
    return body


@dataclass
class FakeGitLab(FakeForge):
    merge_requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rate_limit: int = 2000
    _ids: dict[str, int] = field(default_factory=dict)
    _next_id: int = 224166702

    def routes(self, app: Quart) -> None:
        @app.route("/api/v4/projects/<path:project>/merge_requests", methods=["GET", "POST"])
        async def merge_requests(project: str) -> Response:
            return await self.api(self._list if request.method == "GET" else self._create, project)

    def refuse_api(self) -> Response | None:
        given = request.headers.get("PRIVATE-TOKEN") or bearer_token(request.headers.get("Authorization"))
        return None if given == self.token else self.json({"message": "401 Unauthorized"}, 401)

    def rate_headers(self) -> dict[str, str]:
        reset = int(self.clock()) + 60
        return {"ratelimit-limit": str(self.rate_limit), "ratelimit-observed": "1",
                "ratelimit-remaining": str(self.rate_limit - 1), "ratelimit-reset": str(reset),
                "ratelimit-name": "throttle_authenticated_api"}

    def project_id(self, repo: str) -> int:
        return self._ids.setdefault(repo, 40370047 + len(self._ids))

    def add_merge_request(self, repo: str, source: str, target: str = "main", *, title: str = "existing",
                          state: str = "opened") -> dict[str, Any]:
        mr = self._merge_request(repo, source, target, title=title, description="", labels=[], sha=None)
        mr["state"] = state
        return mr

    # ── handlers ─────────────────────────────────────────────────────────────────────────

    def _repo(self, project: str) -> str | None:
        if project.isdigit():
            return next((repo for repo in self.repo_paths if self.project_id(repo) == int(project)), None)
        raw = request.scope.get("raw_path", b"").decode()
        if quote(project, safe="") not in raw:  # sent unencoded: GitLab would not route it
            return None
        return project if project in self.repo_paths else None

    async def _list(self, project: str) -> Response:
        repo = self._repo(project)
        if repo is None:
            return self.json({"message": "404 Project Not Found"}, 404)
        args = request.args
        mrs = [mr for mr in self.merge_requests.get(repo, [])
               if args.get("state", "all") in ("all", mr["state"])
               and args.get("source_branch", mr["source_branch"]) == mr["source_branch"]
               and args.get("target_branch", mr["target_branch"]) == mr["target_branch"]]
        return self.json(sorted(mrs, key=lambda mr: -mr["iid"]), 200, {"x-total": str(len(mrs)), "x-page": "1"})

    async def _create(self, project: str, data: Any) -> Response:
        repo = self._repo(project)
        if repo is None:
            return self.json({"message": "404 Project Not Found"}, 404)
        if not isinstance(data, dict):
            return self.json({"error": "source_branch is missing, target_branch is missing, title is missing"}, 400)
        for key in ("source_branch", "target_branch", "title"):
            if not isinstance(data.get(key), str) or not data[key]:
                return self.json({"error": f"{key} is missing"}, 400)
        source, target = data["source_branch"], data["target_branch"]
        sha = await self.branch_sha(repo, source)
        if sha is None or await self.branch_sha(repo, target) is None:
            return self.json({"message": ["Source branch or target branch does not exist"]}, 422)
        clash = next((mr for mr in self.merge_requests.get(repo, []) if mr["state"] == "opened"
                      and mr["source_branch"] == source and mr["target_branch"] == target), None)
        if clash is not None:
            return self.json({"message": [f"Another open merge request already exists for this source branch: "
                                          f"!{clash['iid']}"]}, 409)
        labels = [label.strip() for label in str(data.get("labels") or "").split(",") if label.strip()]
        mr = self._merge_request(repo, source, target, title=data["title"], description=data.get("description") or "",
                                 labels=labels, sha=sha)
        mr["force_remove_source_branch"] = bool(data.get("remove_source_branch", False))
        return self.json(mr, 201)

    def _merge_request(self, repo: str, source: str, target: str, *, title: str, description: str,
                       labels: list[str], sha: str | None) -> dict[str, Any]:
        mr = copy.deepcopy(recorded_merge_request())
        iid = max((m["iid"] for m in self.merge_requests.get(repo, [])), default=0) + 1
        self._next_id += 1
        now = self.now_iso()
        draft = title.lower().startswith(("draft:", "[draft]", "(draft)"))
        mr.update(id=self._next_id, iid=iid, project_id=self.project_id(repo), title=title, description=description,
                  state="opened", created_at=now, updated_at=now, source_branch=source, target_branch=target,
                  labels=labels, draft=draft, work_in_progress=draft, sha=sha,
                  source_project_id=self.project_id(repo), target_project_id=self.project_id(repo),
                  reference=f"!{iid}", web_url=f"https://gitlab.example.com/{repo}/-/merge_requests/{iid}",
                  references={"short": f"!{iid}", "relative": f"!{iid}", "full": f"{repo}!{iid}"})
        self.merge_requests.setdefault(repo, []).append(mr)
        return mr


__all__ = ["FakeGitLab", "recorded_merge_request"]
