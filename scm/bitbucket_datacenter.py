"""Bitbucket Data Center (self-managed, formerly Server) as a forge: REST 1.0 pull requests.

- `base-url` is the web root (`https://bitbucket.example.com`, or with its context path); the
  API is under `/rest/api/1.0`, git under `/scm/{project}/{repo}.git`.
- A repository is `PROJECT_KEY/repo_slug`.
- An HTTP access token (user, project or repository; *Repository write*) goes as
  `Authorization: Bearer` to the API and to git: Atlassian documents that project and repository
  tokens work with Bearer only, never with a user name in Basic auth.
- Opening is idempotent: an open PR from the branch is looked up first, and the 409
  `DuplicatePullRequestException` (another worker won the race) carries the existing PR, which
  is returned. Data Center has no labels (they become the description's last line); a draft is
  sent as `draft` (Data Center 8.18+; older versions ignore it).
- 429 from the admin-configured rate limiter is waited out (Retry-After); 401/403/404 fail at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from common.git import BEARER_USER
from common.http import TokenAuth, safe_json
from scm.base import PullRequest, PullRequestSpec, ScmError
from scm.forge import Forge, ForgeConfig, labels_footer, split_repo

log = logging.getLogger(__name__)

DUPLICATE = "DuplicatePullRequestException"


class BitbucketDataCenterConfig(ForgeConfig):
    type: Literal["bitbucket-datacenter"] = "bitbucket-datacenter"
    base_url: str  # the web root: https://bitbucket.example.com
    token_env: str = "AUTOFIXER_BITBUCKET_DC_TOKEN"  # HTTP access token with Repository write


class BitbucketDataCenterProvider(Forge):
    """Push branches and open pull requests on Bitbucket Data Center."""

    kind = "bitbucket-datacenter"
    label = "Bitbucket Data Center"
    vendor = "Bitbucket Data Center"
    Config = BitbucketDataCenterConfig
    base_url_hint = "is base-url the Bitbucket web root (https://bitbucket.example.com, without /rest)?"
    status_hints: ClassVar[Mapping[int, str]] = {
        401: "check the HTTP access token (it may be wrong, expired or revoked)",
        403: "the token lacks Repository write permission",
        404: "the project or repository does not exist or the token cannot see it (PROJECT_KEY/repo_slug)",
    }

    def __init__(self, token: str, *, base_url: str, **kwargs: Any) -> None:
        self.web_url = base_url.rstrip("/").split("/rest/api/", 1)[0]
        super().__init__(f"{self.web_url}/rest/api/1.0", token, auth=TokenAuth(token) if token else None,
                         token_user=BEARER_USER, **kwargs)

    @classmethod
    def options(cls, config: BitbucketDataCenterConfig) -> dict[str, Any]:
        return {"base_url": config.base_url}

    def clone_url(self, repo: str) -> str:
        key, slug = _split(repo)
        return f"{self.web_url}/scm/{key.lower()}/{slug}.git"

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None:
        what = f"listing open pull requests of {repo} from {head}"
        page = await self.get_json(f"{_repo_path(repo)}/pull-requests", what=what,
                                   params={"at": f"refs/heads/{head}", "direction": "OUTGOING", "state": "OPEN",
                                           "limit": "100"})
        values = page.get("values") if isinstance(page, dict) else None
        if not isinstance(values, list):
            raise ScmError(f"Bitbucket Data Center returned no `values` list for {what}")
        match = next((pr for pr in values if isinstance(pr, dict) and pr.get("state") == "OPEN"
                      and _ref(pr, "fromRef") == head), None)
        return None if match is None else self._to_pull_request(match, created=False)

    async def create_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        key, slug = _split(spec.repo)
        repository = {"slug": slug, "project": {"key": key}}
        payload = {
            "title": spec.title,
            "description": labels_footer(self.body_of(spec), spec.labels),
            "fromRef": {"id": f"refs/heads/{spec.head}", "repository": repository},
            "toRef": {"id": f"refs/heads/{spec.base}", "repository": repository},
            "draft": spec.draft,
        }
        what = f"opening a pull request {spec.head} → {spec.base} on {spec.repo}"
        response = await self.request("POST", f"{_repo_path(spec.repo)}/pull-requests", json=payload, what=what,
                                      check=False)
        if response.status_code == 409 and (existing := _duplicate_of(response)) is not None:
            return self._to_pull_request(existing, created=False)
        self.raise_for_status(response, what=what)
        return self._to_pull_request(self.json_body(response, what="the new pull request"), created=True)

    def _to_pull_request(self, pr: Any, *, created: bool) -> PullRequest:
        try:
            links = pr.get("links", {}).get("self") or [{}]
            url = links[0].get("href") or (f"{self.web_url}/projects/{pr['toRef']['repository']['project']['key']}"
                                           f"/repos/{pr['toRef']['repository']['slug']}/pull-requests/{pr['id']}")
            return PullRequest(number=int(pr["id"]), url=str(url), head=str(pr["fromRef"]["displayId"]),
                               base=str(pr["toRef"]["displayId"]), created=created)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ScmError(f"Bitbucket Data Center returned a pull request without {exc}") from None


def _duplicate_of(response: Any) -> dict[str, Any] | None:
    body = safe_json(response)
    for error in (body.get("errors") if isinstance(body, dict) else None) or []:
        if isinstance(error, dict) and str(error.get("exceptionName", "")).endswith(DUPLICATE):
            existing = error.get("existingPullRequest")
            return existing if isinstance(existing, dict) else None
    return None


def _split(repo: str) -> tuple[str, str]:
    return split_repo(repo, "PROJECT_KEY/repo_slug", "Bitbucket Data Center")


def _repo_path(repo: str) -> str:
    key, slug = _split(repo)
    return f"/projects/{key}/repos/{slug}"


def _ref(pr: dict[str, Any], side: str) -> str | None:
    try:
        return str(pr[side]["displayId"])
    except (KeyError, TypeError):
        return None


__all__ = ["BitbucketDataCenterConfig", "BitbucketDataCenterProvider"]
