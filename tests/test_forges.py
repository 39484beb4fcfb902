"""What each of GitLab, Bitbucket Cloud and Bitbucket Data Center does beyond the shared forge
contract (tests/contracts/test_forge_contract.py): the exact requests they send, their own
"already exists" answers, their credentials for REST and git, and their config errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scm.base import ScmError
from tests.contracts.support import build_connector, make_origin, make_worktree
from tests.fakes.bitbucket_api import FakeBitbucket, FakeBitbucketDataCenter
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.serve import serve_app
from tests.test_github import branch_sha
from tests.test_workspace import git

GITLAB_TOKEN = "glpat-" + "UnitTestToken000000000"
BB_TOKEN = "ATATT3x" + "UnitTestApiToken0000000"
DC_TOKEN = "BBDC-" + "UnitTestToken0000000000"
BRANCH = "fix/auto-fixer-sentry-7"


def _spec(repo: str, **overrides: Any) -> Any:
    from domain.pull_request import PullRequestSpec

    fields: dict[str, Any] = dict(repo=repo, head=BRANCH, base="main", title="fix: x", body="body",
                                  labels=["auto-fix", "ai-generated"])
    return PullRequestSpec(**{**fields, **overrides})


async def _no_sleep(_: float) -> None:
    return None


def _served(fake: Any, entry: dict[str, Any], env: dict[str, str]) -> Iterator[tuple[Any, Any]]:
    """(fake, provider): the fake on a real port, the provider built from `entry` (`{url}` in its
    base-url is the fake's), its waits instant."""
    with serve_app(fake.app) as url:
        provider = build_connector("scms", {**entry, "base-url": entry["base-url"].format(url=url)}, env)
        provider._sleep = _no_sleep
        yield fake, provider


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    origin = make_origin(tmp_path / "forge" / "origin.git")
    work = make_worktree(origin, tmp_path / "seed")
    git(work, "push", "-q", str(origin), f"HEAD:refs/heads/{BRANCH}")
    return origin


# ── GitLab ───────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def gitlab(origin: Path) -> Iterator[tuple[FakeGitLab, Any]]:
    fake = FakeGitLab(token=GITLAB_TOKEN, repo_paths={"acme/backend/shop": origin})
    yield from _served(fake, {"type": "gitlab", "base-url": "{url}"}, {"AUTOFIXER_GITLAB_TOKEN": GITLAB_TOKEN})


async def test_gitlab_sends_the_documented_merge_request(gitlab: tuple[FakeGitLab, Any]) -> None:
    fake, provider = gitlab
    pr = await provider.open_pull_request(_spec("acme/backend/shop", draft=True))

    [listed] = fake.find("GET", "/merge_requests")
    assert listed.query == {"source_branch": [BRANCH], "state": ["opened"], "per_page": ["100"]}
    [created] = fake.find("POST", "/merge_requests")  # the fake only routes a URL-encoded path
    assert created.headers["private-token"] == GITLAB_TOKEN
    assert created.json == {"source_branch": BRANCH, "target_branch": "main", "title": "Draft: fix: x",
                            "description": "body", "labels": "auto-fix,ai-generated", "remove_source_branch": True}
    mr = fake.merge_requests["acme/backend/shop"][0]
    assert mr["draft"] and mr["labels"] == ["auto-fix", "ai-generated"] and mr["force_remove_source_branch"]
    assert pr.created and pr.number == mr["iid"] and pr.url == mr["web_url"]


async def test_gitlab_409_another_open_merge_request_returns_that_one(gitlab: tuple[FakeGitLab, Any]) -> None:
    fake, provider = gitlab
    fake.fail_next("GET", "/merge_requests", 200, body=[])  # another worker opened it after our lookup
    existing = fake.add_merge_request("acme/backend/shop", BRANCH)

    pr = await provider.open_pull_request(_spec("acme/backend/shop"))

    assert [r.status for r in fake.find("POST", "/merge_requests")] == [409]
    assert not pr.created and pr.number == existing["iid"]
    assert len(fake.merge_requests["acme/backend/shop"]) == 1


async def test_gitlab_numeric_project_ids_work_over_rest_but_need_a_clone_url(
        gitlab: tuple[FakeGitLab, Any]) -> None:
    fake, provider = gitlab
    project_id = str(fake.project_id("acme/backend/shop"))
    assert await provider.find_open_pull_request(project_id, BRANCH) is None
    with pytest.raises(ScmError, match="clone-url"):
        provider.clone_url(project_id)
    with pytest.raises(ScmError, match="group/project"):
        provider.clone_url("just-a-name")


async def test_gitlab_403_fails_at_once_with_what_to_check(gitlab: tuple[FakeGitLab, Any]) -> None:
    fake, provider = gitlab
    fake.fail_next("POST", "/merge_requests", 403, body={"message": "403 Forbidden"})  # recorded: archived
    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(_spec("acme/backend/shop"))
    assert err.value.status == 403 and "write_repository" in str(err.value) and "archived" in str(err.value)
    assert len(fake.find("POST", "/merge_requests")) == 1


# ── Bitbucket Cloud ──────────────────────────────────────────────────────────────────────────


@pytest.fixture
def bitbucket(origin: Path) -> Iterator[tuple[FakeBitbucket, Any]]:
    """A user's API token: Basic with the account e-mail for REST, the documented static user for git."""
    fake = FakeBitbucket(token=BB_TOKEN, repo_paths={"acme/shop": origin}, basic_user="bot@example.com",
                         git_user="x-bitbucket-api-token-auth")
    entry = {"type": "bitbucket", "base-url": "{url}/2.0", "auth": "api-token", "username": "bot@example.com"}
    yield from _served(fake, entry, {"AUTOFIXER_BITBUCKET_TOKEN": BB_TOKEN})


async def test_bitbucket_api_token_pushes_and_opens(bitbucket: tuple[FakeBitbucket, Any], tmp_path: Path,
                                                    origin: Path) -> None:
    fake, provider = bitbucket
    work = make_worktree(origin, tmp_path / "work")
    await provider.push_branch(work, "fix/api-token", provider.clone_url("acme/shop"))
    assert branch_sha(origin, "fix/api-token") == git(work, "rev-parse", "HEAD")

    pr = await provider.open_pull_request(_spec("acme/shop", draft=True))

    [listed] = fake.find("GET", "/pullrequests")
    assert listed.query["q"] == [f'source.branch.name="{BRANCH}" AND state="OPEN"']
    assert listed.headers["authorization"].startswith("Basic ")
    [created] = fake.find("POST", "/pullrequests")
    assert created.json == {"title": "fix: x", "description": "body\n\nLabels: `auto-fix` `ai-generated`",
                            "source": {"branch": {"name": BRANCH}}, "destination": {"branch": {"name": "main"}},
                            "close_source_branch": True, "draft": True}
    assert pr.created and pr.url.endswith(f"/acme/shop/pull-requests/{pr.number}")


async def test_bitbucket_repost_of_the_same_branch_pair_is_the_same_pull_request(
        bitbucket: tuple[FakeBitbucket, Any]) -> None:
    fake, provider = bitbucket
    fake.fail_next("GET", "/pullrequests", 200, body={"values": [], "pagelen": 10, "size": 0, "page": 1})
    existing = fake.add_pull("acme/shop", BRANCH)

    pr = await provider.open_pull_request(_spec("acme/shop"))

    assert [r.status for r in fake.find("POST", "/pullrequests")] == [201]
    assert pr.number == existing["id"] and len(fake.pulls["acme/shop"]) == 1


def test_bitbucket_basic_auth_kinds_need_a_username() -> None:
    with pytest.raises(Exception, match="needs username"):
        build_connector("scms", {"type": "bitbucket", "auth": "api-token"}, {})
    access = build_connector("scms", {"type": "bitbucket"}, {"AUTOFIXER_BITBUCKET_TOKEN": BB_TOKEN})
    assert access.token_user == "x-token-auth" and access.clone_url("a/b") == "https://bitbucket.org/a/b.git"
    app_password = build_connector("scms", {"type": "bitbucket", "auth": "app-password", "username": "bot"}, {})
    assert app_password.token_user == "bot"


# ── Bitbucket Data Center ────────────────────────────────────────────────────────────────────


@pytest.fixture
def datacenter(origin: Path) -> Iterator[tuple[FakeBitbucketDataCenter, Any]]:
    fake = FakeBitbucketDataCenter(token=DC_TOKEN, repo_paths={"SHOP/backend": origin})
    yield from _served(fake, {"type": "bitbucket-datacenter", "base-url": "{url}"},
                       {"AUTOFIXER_BITBUCKET_DC_TOKEN": DC_TOKEN})


async def test_datacenter_duplicate_409_returns_the_existing_pull_request(
        datacenter: tuple[FakeBitbucketDataCenter, Any]) -> None:
    fake, provider = datacenter
    fake.fail_next("GET", "/pull-requests", 200, body={"values": [], "size": 0, "isLastPage": True})
    existing = fake.add_pull("SHOP/backend", BRANCH)

    pr = await provider.open_pull_request(_spec("SHOP/backend"))

    [created] = fake.find("POST", "/pull-requests")
    assert created.status == 409 and created.json["fromRef"] == {
        "id": f"refs/heads/{BRANCH}", "repository": {"slug": "backend", "project": {"key": "SHOP"}}}
    assert not pr.created and pr.number == existing["id"]
    assert pr.url.endswith(f"/projects/SHOP/repos/backend/pull-requests/{existing['id']}")


async def test_datacenter_git_gets_the_token_as_bearer(datacenter: tuple[FakeBitbucketDataCenter, Any],
                                                       tmp_path: Path, origin: Path) -> None:
    fake, provider = datacenter
    assert provider.clone_url("SHOP/backend").endswith("/scm/shop/backend.git")
    work = make_worktree(origin, tmp_path / "work")
    await provider.push_branch(work, "fix/bearer", provider.clone_url("SHOP/backend"))
    assert branch_sha(origin, "fix/bearer") == git(work, "rev-parse", "HEAD")
    assert fake.git_auth_seen and all(a == f"Bearer {DC_TOKEN}" for a in fake.git_auth_seen)
