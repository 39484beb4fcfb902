"""Bitbucket Cloud (bitbucket.org) as a forge: pull requests over REST 2.0.

Credentials, per Atlassian's docs (`auth:` in the entry):
- `access-token` (default): a repository, project or workspace access token with *Repositories:
  write* and *Pull requests: write*. REST: `Authorization: Bearer`; git over HTTPS: the user
  `x-token-auth` with the token as password.
- `api-token`: a user's scoped API token (repository write + pull request write). REST: HTTP
  Basic with the Atlassian account e-mail (`username:`) and the token; git: the static user
  `x-bitbucket-api-token-auth` that Atlassian documents for API tokens.
- `app-password`: the deprecated app passwords, while they last (Basic with the Bitbucket
  username, which git also takes as its user).

A repository is `workspace/repo_slug`. An open PR from the branch is looked up first
(`q=source.branch.name="…" AND state="OPEN"`); a repeated POST for the same branch pair returns
the existing PR with 201, so a lost answer or a race never makes a second one. Bitbucket has no
pull request labels: they become the description's last line. Drafts are sent as `draft`.
Rate limits: 429 (rarely with Retry-After) is backed off; 401/403/404 fail at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from common.http import BasicAuth, TokenAuth
from scm.base import PullRequest, PullRequestSpec, ScmError
from scm.forge import Forge, ForgeConfig, labels_footer, split_repo

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.bitbucket.org/2.0"
ACCESS_TOKEN_USER = "x-token-auth"
API_TOKEN_USER = "x-bitbucket-api-token-auth"

Auth = Literal["access-token", "api-token", "app-password"]


class BitbucketConfig(ForgeConfig):
    type: Literal["bitbucket"] = "bitbucket"
    base_url: str | None = None  # the REST root; default https://api.bitbucket.org/2.0
    token_env: str = "AUTOFIXER_BITBUCKET_TOKEN"
    auth: Auth = "access-token"
    username: str | None = None  # api-token: the Atlassian account e-mail; app-password: the username
    close_source_branch: bool = True  # delete the fix branch when the PR is merged

    @model_validator(mode="after")
    def _username_when_basic(self) -> BitbucketConfig:
        if self.auth != "access-token" and not self.username:
            raise ValueError(f"auth: {self.auth} needs username: (the account "
                             f"{'e-mail' if self.auth == 'api-token' else 'username'})")
        return self


class BitbucketProvider(Forge):
    """Push branches and open pull requests on Bitbucket Cloud."""

    kind = "bitbucket"
    label = "Bitbucket"
    vendor = "Bitbucket"
    Config = BitbucketConfig
    base_url_hint = "is base-url the REST root (https://api.bitbucket.org/2.0)?"
    status_hints: ClassVar[Mapping[int, str]] = {
        401: "check the Bitbucket token and auth: (access token, API token with the account e-mail, "
             "or app password with the username)",
        403: "the token lacks a scope (it needs repository write and pull request write)",
        404: "the repository does not exist or the token cannot see it (workspace/repo_slug)",
    }

    def __init__(self, token: str, *, base_url: str = DEFAULT_API_URL, auth: Auth = "access-token",
                 username: str | None = None, close_source_branch: bool = True, **kwargs: Any) -> None:
        http_auth: BasicAuth | TokenAuth | None = None
        if token:
            http_auth = TokenAuth(token) if auth == "access-token" else BasicAuth(username or "", token)
        user = {"access-token": ACCESS_TOKEN_USER, "api-token": API_TOKEN_USER}.get(auth, username or "")
        super().__init__(base_url, token, auth=http_auth, token_user=user, **kwargs)
        self.close_source_branch = close_source_branch
        # bitbucket.org serves git; a stand-in or proxy serves it beside its REST root.
        default = self.base_url == DEFAULT_API_URL
        self.web_url = "https://bitbucket.org" if default else self.base_url.removesuffix("/2.0")

    @classmethod
    def options(cls, config: BitbucketConfig) -> dict[str, Any]:
        return {"base_url": config.base_url or DEFAULT_API_URL, "auth": config.auth, "username": config.username,
                "close_source_branch": config.close_source_branch}

    def clone_url(self, repo: str) -> str:
        workspace, slug = _split(repo)
        return f"{self.web_url}/{workspace}/{slug}.git"

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None:
        what = f"listing open pull requests of {repo} from {head}"
        query = f'source.branch.name="{_bbql_string(head)}" AND state="OPEN"'
        page = await self.get_json(f"{_repo_path(repo)}/pullrequests", what=what,
                                   params={"q": query, "pagelen": "50"})
        values = page.get("values") if isinstance(page, dict) else None
        if not isinstance(values, list):
            raise ScmError(f"Bitbucket returned no `values` list for {what}")
        match = next((pr for pr in values if isinstance(pr, dict) and pr.get("state") == "OPEN"
                      and _branch(pr, "source") == head), None)
        return None if match is None else _to_pull_request(match, created=False)

    async def create_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        payload = {
            "title": spec.title,
            "description": labels_footer(self.body_of(spec), spec.labels),
            "source": {"branch": {"name": spec.head}},
            "destination": {"branch": {"name": spec.base}},
            "close_source_branch": self.close_source_branch,
            "draft": spec.draft,
        }
        what = f"opening a pull request {spec.head} → {spec.base} on {spec.repo}"
        response = await self.request("POST", f"{_repo_path(spec.repo)}/pullrequests", json=payload, what=what)
        # A repeated POST for the same branch pair answers 201 with the PR that was already open
        # (it only bumps `updated_on`): looked up just before, so 201 here means ours.
        return _to_pull_request(self.json_body(response, what="the new pull request"), created=True)


def _split(repo: str) -> tuple[str, str]:
    return split_repo(repo, "workspace/repo_slug", "Bitbucket")


def _repo_path(repo: str) -> str:
    workspace, slug = _split(repo)
    return f"/repositories/{workspace}/{slug}"


def _bbql_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _branch(pr: dict[str, Any], side: str) -> str | None:
    try:
        return str(pr[side]["branch"]["name"])
    except (KeyError, TypeError):
        return None


def _to_pull_request(pr: Any, *, created: bool) -> PullRequest:
    try:
        return PullRequest(number=int(pr["id"]), url=str(pr["links"]["html"]["href"]),
                           head=str(pr["source"]["branch"]["name"]), base=str(pr["destination"]["branch"]["name"]),
                           created=created)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScmError(f"Bitbucket returned a pull request without {exc}") from None


__all__ = ["ACCESS_TOKEN_USER", "API_TOKEN_USER", "DEFAULT_API_URL", "BitbucketConfig", "BitbucketProvider"]
