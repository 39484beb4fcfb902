"""GitLab (gitlab.com and self-managed) as a forge: merge requests over REST v4.

- A repository is its full path (`group/subgroup/project`, URL-encoded into one path segment,
  as GitLab requires) or its numeric project id.
- The token (personal, project or group access token: scopes `api` and `write_repository`) goes
  in the `PRIVATE-TOKEN` header to the API and, for git over HTTPS, as the password with the
  user `oauth2` (GitLab accepts any user name with an access token; `oauth2` is the documented one).
- Opening a merge request is idempotent: an open MR from the branch is looked up first, and
  GitLab's 409 "Another open merge request already exists for this source branch" (a race with
  another worker) is answered with that MR. A draft is a "Draft: " title prefix, the way
  GitLab marks drafts on every version.
- Rate limits: 429 with `Retry-After` (or `RateLimit-Reset`, epoch seconds) is waited out; 401,
  403 and 404 fail at once with GitLab's own message and what to check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from common.http import TokenAuth
from scm.base import PullRequest, PullRequestSpec, ScmError
from scm.forge import Forge, ForgeConfig

log = logging.getLogger(__name__)

DEFAULT_URL = "https://gitlab.com"
TOKEN_USER = "oauth2"
ALREADY_EXISTS = "another open merge request already exists"
MAX_DESCRIPTION_CHARS = 1_048_576  # GitLab's limit on a merge request description


class GitLabConfig(ForgeConfig):
    type: Literal["gitlab"] = "gitlab"
    # The web root, e.g. https://gitlab.example.com (a relative-URL install: …/gitlab); /api/v4 is added.
    base_url: str | None = None
    token_env: str = "AUTOFIXER_GITLAB_TOKEN"  # access token with `api` and `write_repository`
    remove_source_branch: bool = True  # delete the fix branch when the MR is merged


class GitLabProvider(Forge):
    """Push branches and open merge requests on GitLab."""

    kind = "gitlab"
    label = "GitLab"
    vendor = "GitLab"
    Config = GitLabConfig
    max_body_chars = MAX_DESCRIPTION_CHARS
    base_url_hint = "is base-url the GitLab web root (https://gitlab.example.com, without /api/v4)?"
    status_hints: ClassVar[Mapping[int, str]] = {
        401: "check the GitLab token (it may be wrong, expired or revoked)",
        403: "the token lacks a scope or role (it needs `api` and `write_repository`, Developer role or higher), "
             "or the project is archived",
        404: "the project does not exist or the token cannot see it (path or numeric id, subgroups included)",
    }

    def __init__(self, token: str, *, base_url: str = DEFAULT_URL, remove_source_branch: bool = True,
                 **kwargs: Any) -> None:
        self.web_url = base_url.rstrip("/").removesuffix("/api/v4")
        super().__init__(f"{self.web_url}/api/v4", token,
                         auth=TokenAuth(token, header="PRIVATE-TOKEN", scheme="") if token else None,
                         token_user=TOKEN_USER, **kwargs)
        self.remove_source_branch = remove_source_branch

    @classmethod
    def options(cls, config: GitLabConfig) -> dict[str, Any]:
        return {"base_url": config.base_url or DEFAULT_URL, "remove_source_branch": config.remove_source_branch}

    def clone_url(self, repo: str) -> str:
        path = _check_repo(repo)
        if path.isdigit():
            raise ScmError(f"GitLab project {repo} is given by numeric id, so its git URL is unknown: "
                           "set projects[].clone-url (or use the group/project path)")
        return f"{self.web_url}/{path}.git"

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None:
        what = f"listing open merge requests of {repo} from {head}"
        mrs = await self.get_json(f"{_project(repo)}/merge_requests", what=what,
                                  params={"source_branch": head, "state": "opened", "per_page": "100"})
        if not isinstance(mrs, list):
            raise ScmError(f"GitLab returned {type(mrs).__name__} for {what}, expected a list")
        # Filtered again: an old GitLab that ignored the filter would list every open MR.
        match = next((mr for mr in mrs if isinstance(mr, dict) and mr.get("source_branch") == head), None)
        return None if match is None else _to_pull_request(match, created=False)

    async def create_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        payload: dict[str, Any] = {
            "source_branch": spec.head,
            "target_branch": spec.base,
            "title": f"Draft: {spec.title}" if spec.draft else spec.title,
            "description": self.body_of(spec),
            "labels": ",".join(spec.labels),
            "remove_source_branch": self.remove_source_branch,
        }
        what = f"opening a merge request {spec.head} → {spec.base} on {spec.repo}"
        response = await self.request("POST", f"{_project(spec.repo)}/merge_requests", json=payload, what=what,
                                      check=False)
        if response.status_code == 409 and ALREADY_EXISTS in self.server_message(response).lower():
            existing = await self.find_open_pull_request(spec.repo, spec.head)
            if existing is None:
                raise ScmError(f"GitLab says an open merge request from {spec.head} exists on {spec.repo}, "
                               "but none was found", status=409)
            return existing
        self.raise_for_status(response, what=what)
        return _to_pull_request(self.json_body(response, what="the new merge request"), created=True)


def _check_repo(repo: str) -> str:
    path = repo.strip().strip("/").removesuffix(".git")
    if not path or (not path.isdigit() and "/" not in path) or ".." in path.split("/"):
        raise ScmError(f"GitLab repository must be 'group/project' (subgroups allowed) or a numeric id, got {repo!r}")
    return path


def _project(repo: str) -> str:
    return f"/projects/{quote(_check_repo(repo), safe='')}"


def _to_pull_request(mr: Any, *, created: bool) -> PullRequest:
    try:
        return PullRequest(number=int(mr["iid"]), url=str(mr["web_url"]), head=str(mr["source_branch"]),
                           base=str(mr["target_branch"]), created=created)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScmError(f"GitLab returned a merge request without {exc}") from None


__all__ = ["DEFAULT_URL", "TOKEN_USER", "GitLabConfig", "GitLabProvider"]
