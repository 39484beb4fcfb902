"""The ScmProvider contract (scm/base.py), run against every forge over real HTTP and real git.

Every case talks to a local fake of the forge on 127.0.0.1 that speaks the forge's wire format
and serves the repository over git's smart HTTP, so a branch is really pushed and the pull
request is opened on the pushed commit. The provider under test is built the way the service
builds it: a `scms:` entry plus environment variables, through the registry.

Adding a forge (GitLab, Bitbucket Cloud, Bitbucket Data Center, …): write its fake in
tests/fakes/, subclass `ForgeHarness` below (start the fake; the config entry and the variable
holding the token; make its waits instant; seed, list and fail pull requests on the fake: about
fifty lines, see `GitHubHarness`) and add the class to `FORGES`. Every case then runs against it.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from domain.pull_request import PullRequestSpec
from scm.base import ScmError, ScmProvider
from scm.bitbucket import ACCESS_TOKEN_USER
from scm.forge import LABELS_PREFIX
from tests.contracts.support import (
    Given,
    Harness,
    assert_secret_free,
    build_connector,
    exception_texts,
    harness_fixture,
    make_origin,
    make_worktree,
)
from tests.fakes.bitbucket_api import FakeBitbucket, FakeBitbucketDataCenter
from tests.fakes.github_api import FakeGitHub
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.serve import serve_app
from tests.test_github import branch_sha
from tests.test_workspace import commit, git

BRANCH = "fix/auto-fixer-sentry-42"
BASE = "main"
RETRY_AFTER = 7  # seconds a rate-limited answer asks for
# Built at run time: no token-shaped literal in the repository.
WRONG_TOKEN = "wrong" + "-token-" + "0987654321zyxwvutsrq"


@dataclass(frozen=True)
class StoredPull:
    """An open pull/merge request as the fake holds it, in the contract's words."""

    number: int
    title: str
    body: str
    head: str
    base: str
    labels: list[str]
    head_sha: str | None  # the commit the forge sees at the head branch


class ForgeHarness(Harness):
    """One forge and its fake. `repo` exists on the fake, served from the bare repository
    `origin`; `token` is the only credential the fake accepts."""

    repo: ClassVar[str] = "acme/shop"
    missing_repo: ClassVar[str] = "acme/no-such-repo"

    def __init__(self, given: Given) -> None:
        super().__init__(given)
        self.origin = make_origin(given.tmp_path / "forge" / f"{self.repo}.git")
        self.token = ""

    @property
    def waits(self) -> list[float]:
        """Every wait the provider made (retries, pacing), in seconds, none of them slept."""
        return self.given.time.waits

    # ── what each forge implements ───────────────────────────────────────────────────────

    @abstractmethod
    def serve(self) -> contextlib.AbstractContextManager[None]:
        """Start the fake; `entry()` may use its URL while this is open."""

    @abstractmethod
    def entry(self) -> dict[str, Any]:
        """The `scms:` entry a user would write for this forge (with a `name`)."""

    @abstractmethod
    def env(self, token: str) -> dict[str, str]:
        """The environment that hands the provider `token`."""

    def make_waits_instant(self, provider: Any) -> None:
        """Route the provider's sleeps through `self.given.time` (it must never really wait)."""

    @abstractmethod
    def seed_open_pull(self, head: str) -> int:
        """Put an open pull request for `head` → BASE on the fake, as if opened earlier; its number."""

    @abstractmethod
    def open_pulls(self, head: str) -> list[StoredPull]:
        """The open pull requests the fake holds for `head`."""

    @abstractmethod
    def fail_next_create(self, status: int, *, retry_after: int | None = None, message: str | None = None) -> None:
        """Answer the next create-pull-request call with `status` (with Retry-After, and with
        `message` in the forge's error body, when given)."""

    @abstractmethod
    def rate_limit_next_creates(self, retry_after: int) -> int:
        """Answer the next create calls with each rate-limit answer the forge documents that
        carries a Retry-After; how many were scripted."""

    @abstractmethod
    def create_statuses(self) -> list[int]:
        """The status of every create-pull-request call the fake answered, in order."""

    # ── shared ───────────────────────────────────────────────────────────────────────────

    def provider(self, token: str | None = None) -> ScmProvider:
        forge: ScmProvider = build_connector("scms", self.entry(), self.env(self.token if token is None else token))
        self.make_waits_instant(forge)
        return forge

    def push_url(self, provider: ScmProvider) -> str:
        """Where a job pushes: the provider's own clone URL (the fake serves git there)."""
        return provider.clone_url(self.repo)

    def branch_sha(self, branch: str) -> str | None:
        """Where pushed branches land: the commit of `branch` in the served bare repository."""
        return branch_sha(self.origin, branch)

    def secrets(self, token: str) -> list[str]:
        """`token` in every form it could leak in (HTTP Basic for git as well)."""
        basic = base64.b64encode(f"{self.provider().token_user}:{token}".encode()).decode()
        return [token, basic]


# ── GitHub ───────────────────────────────────────────────────────────────────────────────────


class GitHubHarness(ForgeHarness):
    kind = "github"

    def __init__(self, given: Given) -> None:
        super().__init__(given)
        self.token = "ghp_" + "ContractSuiteToken0123456789abcdef"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeGitHub(token=self.token, repo_paths={self.repo: self.origin}, clock=self.given.time.clock)
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def entry(self) -> dict[str, Any]:
        return {"type": "github", "name": "contract-github", "base-url": self.url}

    def env(self, token: str) -> dict[str, str]:
        return {"AUTOFIXER_GITHUB_TOKEN": token}

    def make_waits_instant(self, provider: Any) -> None:
        # The seams tests/test_github.py passes to the constructor; from_config keeps the defaults.
        provider._sleep, provider._clock, provider.write_interval = self.given.time.sleep, self.given.time.clock, 0.0

    def seed_open_pull(self, head: str) -> int:
        return int(self.fake.add_pull(self.repo, head, BASE, title="an earlier attempt")["number"])

    def open_pulls(self, head: str) -> list[StoredPull]:
        return [
            StoredPull(number=p["number"], title=p["title"], body=p["body"], head=p["head"]["ref"],
                       base=p["base"]["ref"], labels=[label["name"] for label in p["labels"]],
                       head_sha=p["head"]["sha"])
            for p in self.fake.pulls.get(self.repo, []) if p["state"] == "open" and p["head"]["ref"] == head
        ]

    def fail_next_create(self, status: int, *, retry_after: int | None = None, message: str | None = None) -> None:
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        self.fake.fail_next("POST", "/pulls", status, headers, None if message is None else {"message": message})

    def rate_limit_next_creates(self, retry_after: int) -> int:
        # A 429, and the 403 GitHub answers for a secondary rate limit, both with retry-after.
        self.fake.secondary_limit("POST", "/pulls", retry_after=retry_after, status=429)
        self.fake.secondary_limit("POST", "/pulls", retry_after=retry_after, status=403)
        return 2

    def create_statuses(self) -> list[int]:
        return [r.status for r in self.fake.find("POST", f"/repos/{self.repo}/pulls")]


# ── GitLab ───────────────────────────────────────────────────────────────────────────────────


def instant_waits(provider: Any, given: Given) -> None:
    """The seams of common.http.HttpClient: every wait recorded, none slept."""
    provider._sleep, provider._clock = given.time.sleep, given.time.clock


class GitLabHarness(ForgeHarness):
    kind = "gitlab"
    repo = "acme/backend/shop"  # a subgroup: the path travels URL-encoded as one segment
    missing_repo = "acme/backend/no-such-repo"

    def __init__(self, given: Given) -> None:
        super().__init__(given)
        self.token = "glpat-" + "ContractSuiteToken0123"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeGitLab(token=self.token, repo_paths={self.repo: self.origin}, clock=self.given.time.clock)
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def entry(self) -> dict[str, Any]:
        return {"type": "gitlab", "name": "contract-gitlab", "base-url": self.url}

    def env(self, token: str) -> dict[str, str]:
        return {"AUTOFIXER_GITLAB_TOKEN": token}

    def make_waits_instant(self, provider: Any) -> None:
        instant_waits(provider, self.given)

    def seed_open_pull(self, head: str) -> int:
        return int(self.fake.add_merge_request(self.repo, head, BASE, title="an earlier attempt")["iid"])

    def open_pulls(self, head: str) -> list[StoredPull]:
        return [StoredPull(number=mr["iid"], title=mr["title"], body=mr["description"], head=mr["source_branch"],
                           base=mr["target_branch"], labels=mr["labels"], head_sha=mr["sha"])
                for mr in self.fake.merge_requests.get(self.repo, [])
                if mr["state"] == "opened" and mr["source_branch"] == head]

    def fail_next_create(self, status: int, *, retry_after: int | None = None, message: str | None = None) -> None:
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        body = None if message is None else {"message": message}
        self.fake.fail_next("POST", "/merge_requests", status, headers, body)

    def rate_limit_next_creates(self, retry_after: int) -> int:
        # GitLab's throttle: 429 with Retry-After beside the RateLimit-* headers.
        self.fail_next_create(429, retry_after=retry_after, message="Retry later")
        return 1

    def create_statuses(self) -> list[int]:
        return [r.status for r in self.fake.find("POST", "/merge_requests")]


# ── Bitbucket Cloud and Data Center ──────────────────────────────────────────────────────────


def without_labels_footer(body: str) -> tuple[str, list[str]]:
    """Bitbucket has no PR labels: the provider names them on the description's last line."""
    text, sep, line = body.rpartition(f"\n\n{LABELS_PREFIX}")
    return (text, [label.strip("`") for label in line.split()]) if sep else (body, [])


class BitbucketHarness(ForgeHarness):
    kind = "bitbucket"
    fake_class: ClassVar[Any] = FakeBitbucket
    fake_options: ClassVar[dict[str, Any]] = {"git_user": ACCESS_TOKEN_USER}
    token_env = "AUTOFIXER_BITBUCKET_TOKEN"
    creates = "/pullrequests"

    def __init__(self, given: Given) -> None:
        super().__init__(given)
        self.token = "ATCTT3x" + "ContractSuiteToken0123456789"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = self.fake_class(token=self.token, repo_paths={self.repo: self.origin},
                                    clock=self.given.time.clock, **self.fake_options)
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def entry(self) -> dict[str, Any]:
        return {"type": "bitbucket", "name": "contract-bitbucket", "base-url": f"{self.url}/2.0"}

    def env(self, token: str) -> dict[str, str]:
        return {self.token_env: token}

    def make_waits_instant(self, provider: Any) -> None:
        instant_waits(provider, self.given)

    def seed_open_pull(self, head: str) -> int:
        return int(self.fake.add_pull(self.repo, head, BASE, title="an earlier attempt")["id"])

    def open_pulls(self, head: str) -> list[StoredPull]:
        found = []
        for p in self.fake.pulls.get(self.repo, []):
            if p["state"] == "OPEN" and p["source"]["branch"]["name"] == head:
                body, labels = without_labels_footer(p["description"])
                found.append(StoredPull(number=p["id"], title=p["title"], body=body, head=head,
                                        base=p["destination"]["branch"]["name"], labels=labels,
                                        head_sha=p["source"]["commit"]["hash"]))
        return found

    def fail_next_create(self, status: int, *, retry_after: int | None = None, message: str | None = None) -> None:
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        body = None if message is None else self.fake.error_body(status, message)
        self.fake.fail_next("POST", self.creates, status, headers, body)

    def rate_limit_next_creates(self, retry_after: int) -> int:
        self.fail_next_create(429, retry_after=retry_after, message="Rate limit for this resource has been exceeded")
        return 1

    def create_statuses(self) -> list[int]:
        return [r.status for r in self.fake.find("POST", self.creates)]


class BitbucketDataCenterHarness(BitbucketHarness):
    kind = "bitbucket-datacenter"
    repo = "ACME/shop"
    missing_repo = "ACME/no-such-repo"
    fake_class = FakeBitbucketDataCenter
    fake_options: ClassVar[dict[str, Any]] = {}
    token_env = "AUTOFIXER_BITBUCKET_DC_TOKEN"
    creates = "/pull-requests"

    def entry(self) -> dict[str, Any]:
        return {"type": "bitbucket-datacenter", "name": "contract-bbdc", "base-url": self.url}

    def open_pulls(self, head: str) -> list[StoredPull]:
        found = []
        for p in self.fake.pulls.get(self.repo, []):
            if p["state"] == "OPEN" and p["fromRef"]["displayId"] == head:
                body, labels = without_labels_footer(p["description"])
                found.append(StoredPull(number=p["id"], title=p["title"], body=body, head=head,
                                        base=p["toRef"]["displayId"], labels=labels,
                                        head_sha=p["fromRef"]["latestCommit"]))
        return found

    def secrets(self, token: str) -> list[str]:
        return [token]  # git sends it as a Bearer header, never in Basic form


FORGES: list[type[ForgeHarness]] = [GitHubHarness, GitLabHarness, BitbucketHarness, BitbucketDataCenterHarness]


# ── fixtures ─────────────────────────────────────────────────────────────────────────────────


forge = harness_fixture("forge", FORGES)


@pytest.fixture
def worktree(forge: ForgeHarness, tmp_path: Path) -> Path:
    return make_worktree(forge.origin, tmp_path / "work")


@pytest.fixture
def pushed(forge: ForgeHarness, worktree: Path) -> str:
    """BRANCH on the forge (pushed with plain git, not the provider); its commit."""
    git(worktree, "push", "-q", str(forge.origin), f"HEAD:refs/heads/{BRANCH}")
    sha = forge.branch_sha(BRANCH)
    assert sha
    return sha


def spec(forge: ForgeHarness, **overrides: Any) -> PullRequestSpec:
    fields: dict[str, Any] = dict(repo=forge.repo, head=BRANCH, base=BASE, title="fix: total() of no items",
                                  body="## Root cause\n\n`items` may be None.", labels=["auto-fix", "ai-generated"])
    return PullRequestSpec(**{**fields, **overrides})


# ── the contract ─────────────────────────────────────────────────────────────────────────────


def test_is_an_scm_provider_named_as_configured(forge: ForgeHarness) -> None:
    provider = forge.provider()
    assert isinstance(provider, ScmProvider)
    assert provider.kind == forge.kind and provider.name == forge.entry()["name"]
    assert provider.label and provider.token_user
    assert provider.git_token() == forge.token and provider.auth is not None


def test_clone_url_is_credential_free(forge: ForgeHarness) -> None:
    provider = forge.provider()
    url = provider.clone_url(forge.repo)
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert parts.username is None and parts.password is None
    assert_secret_free([url], forge.secrets(forge.token))


async def test_push_branch_lands_the_commit_on_the_forge(forge: ForgeHarness, worktree: Path) -> None:
    provider = forge.provider()
    await provider.push_branch(worktree, BRANCH, forge.push_url(provider))
    assert forge.branch_sha(BRANCH) == git(worktree, "rev-parse", "HEAD")

    # The branch is the job's own: a rerun after a crash replaces what an earlier attempt pushed.
    git(worktree, "reset", "-q", "--hard", "HEAD~1")
    again = commit(worktree, {"shop/cart.py": "# another fix\n"}, "fix: again")
    await provider.push_branch(worktree, BRANCH, forge.push_url(provider))
    assert forge.branch_sha(BRANCH) == again
    assert_secret_free([(worktree / ".git" / "config").read_text()], forge.secrets(forge.token))


async def test_open_creates_the_pull_request_and_find_finds_it(forge: ForgeHarness, pushed: str) -> None:
    provider = forge.provider()
    assert await provider.find_open_pull_request(forge.repo, BRANCH) is None

    pr = await provider.open_pull_request(spec(forge))

    assert pr.created and pr.number > 0 and pr.head == BRANCH and pr.base == BASE
    assert urlsplit(pr.url).scheme in ("http", "https")
    assert [forge.open_pulls(BRANCH)] == [[StoredPull(
        number=pr.number, title="fix: total() of no items", body="## Root cause\n\n`items` may be None.",
        head=BRANCH, base=BASE, labels=["auto-fix", "ai-generated"], head_sha=pushed,
    )]]
    found = await provider.find_open_pull_request(forge.repo, BRANCH)
    assert found is not None and (found.number, found.url, found.created) == (pr.number, pr.url, False)


async def test_opening_again_returns_the_open_one(forge: ForgeHarness, pushed: str) -> None:
    provider = forge.provider()
    first = await provider.open_pull_request(spec(forge))
    again = await provider.open_pull_request(spec(forge, title="a second attempt"))

    assert first.created and not again.created
    assert (again.number, again.url) == (first.number, first.url)
    assert [p.title for p in forge.open_pulls(BRANCH)] == ["fix: total() of no items"]


async def test_a_pull_request_opened_earlier_is_returned_not_duplicated(forge: ForgeHarness, pushed: str) -> None:
    number = forge.seed_open_pull(BRANCH)

    pr = await forge.provider().open_pull_request(spec(forge))

    assert not pr.created and pr.number == number
    assert [p.number for p in forge.open_pulls(BRANCH)] == [number]


async def test_a_transient_5xx_is_retried(forge: ForgeHarness, pushed: str) -> None:
    forge.fail_next_create(502)

    pr = await forge.provider().open_pull_request(spec(forge))

    assert pr.created and len(forge.open_pulls(BRANCH)) == 1
    statuses = forge.create_statuses()
    assert statuses[0] == 502 and 200 <= statuses[-1] < 300 and len(statuses) == 2
    assert forge.waits  # it backed off before trying again


async def test_a_rate_limit_with_retry_after_is_honoured(forge: ForgeHarness, pushed: str) -> None:
    scripted = forge.rate_limit_next_creates(RETRY_AFTER)

    pr = await forge.provider().open_pull_request(spec(forge))

    assert pr.created and len(forge.open_pulls(BRANCH)) == 1
    assert len(forge.create_statuses()) == scripted + 1
    # As long as asked (a second of margin allowed) once per answer, never earlier, never much longer.
    assert len([w for w in forge.waits if w >= RETRY_AFTER]) == scripted
    assert all(w <= RETRY_AFTER + 1 for w in forge.waits)


async def test_a_wrong_token_fails_at_once_with_a_readable_error(forge: ForgeHarness) -> None:
    provider = forge.provider(token=WRONG_TOKEN)
    for call in (provider.find_open_pull_request(forge.repo, BRANCH), provider.open_pull_request(spec(forge))):
        with pytest.raises(ScmError) as err:
            await call
        assert err.value.status == 401
        assert provider.label in str(err.value) and "401" in str(err.value)
        assert_secret_free(exception_texts([err.value]), [WRONG_TOKEN])
    assert forge.waits == []


async def test_an_unknown_repository_fails_at_once_with_a_readable_error(forge: ForgeHarness) -> None:
    provider = forge.provider()
    for call in (provider.find_open_pull_request(forge.missing_repo, BRANCH),
                 provider.open_pull_request(spec(forge, repo=forge.missing_repo))):
        with pytest.raises(ScmError) as err:
            await call
        assert err.value.status == 404
        assert provider.label in str(err.value) and "404" in str(err.value) and forge.missing_repo in str(err.value)
    assert forge.waits == []


async def test_the_token_never_reaches_a_log_an_error_or_a_repr(
    forge: ForgeHarness, worktree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider, stranger = forge.provider(), forge.provider(token=WRONG_TOKEN)
    errors: list[BaseException] = []

    await provider.push_branch(worktree, BRANCH, forge.push_url(provider))
    # A server that echoes the token back: in a failure worth retrying, then in a refusal.
    forge.fail_next_create(500, message=f"upstream trouble near {forge.token}")
    forge.fail_next_create(422, message=f"Validation Failed for {forge.token}")
    for call in (provider.open_pull_request(spec(forge)),
                 stranger.find_open_pull_request(forge.repo, BRANCH),
                 stranger.push_branch(worktree, "fix/other", forge.push_url(stranger))):
        with pytest.raises(ScmError) as err:
            await call
        errors.append(err.value)

    assert [e.status for e in errors[:2]] == [422, 401]
    texts = [repr(provider), repr(stranger), caplog.text, *(r.getMessage() for r in caplog.records),
             *exception_texts(errors)]
    assert_secret_free(texts, [*forge.secrets(forge.token), *forge.secrets(WRONG_TOKEN)])
