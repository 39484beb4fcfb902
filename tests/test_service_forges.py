"""Issue → merge/pull request through the real service on GitLab, Bitbucket Cloud and Bitbucket
Data Center at once (`scms:` with one project per forge): a signed Sentry webhook, the fake
Sentry API, the agent on the real `anthropic` SDK against the fake Messages API, the private
repository fetched and the branch pushed over git smart HTTP with each forge's own token user,
and the request opened through each forge's REST API as documented."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scm.forge import LABELS_PREFIX
from tests.fakes.anthropic_api import API_KEY, FakeAnthropic
from tests.fakes.bitbucket_api import FakeBitbucket, FakeBitbucketDataCenter
from tests.fakes.forge_base import FakeForge
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.sentry_api import FakeSentry
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import FIXED_LINE, _git, make_shop_repo
from tests.test_service_fix import SCRIPT, _webhook, api_event

BASE_ISSUE = {"gitlab": 6000, "bitbucket": 6100, "bitbucket-datacenter": 6200}
TOKENS = {  # built at run time: no token-shaped literal in the repository
    "gitlab": "glpat-" + "service-test-token-1234",
    "bitbucket": "ATCTT3x" + "service-test-token-5678",
    "bitbucket-datacenter": "BBDC-" + "service-test-token-9012",
}
ENV = {"gitlab": "AUTOFIXER_GITLAB_TOKEN", "bitbucket": "AUTOFIXER_BITBUCKET_TOKEN",
       "bitbucket-datacenter": "AUTOFIXER_BITBUCKET_DC_TOKEN"}
REPOS = {"gitlab": "acme/backend/shop", "bitbucket": "acme/shop", "bitbucket-datacenter": "ACME/shop"}


@dataclass
class Forge:
    kind: str
    fake: FakeForge
    url: str
    bare: Path

    @property
    def repo(self) -> str:
        return REPOS[self.kind]

    def open_requests(self, branch: str) -> list[dict[str, Any]]:
        """Title, body, base and labels of each open MR/PR from `branch`, in the contract's words."""
        found = []
        if isinstance(self.fake, FakeGitLab):
            for mr in self.fake.merge_requests.get(self.repo, []):
                if mr["state"] == "opened" and mr["source_branch"] == branch:
                    found.append({"title": mr["title"], "body": mr["description"], "base": mr["target_branch"],
                                  "labels": mr["labels"], "number": mr["iid"]})
        elif isinstance(self.fake, FakeBitbucket):
            for p in self.fake.pulls.get(self.repo, []):
                if p["state"] == "OPEN" and p["source"]["branch"]["name"] == branch:
                    found.append(_bitbucket(p, p["destination"]["branch"]["name"]))
        else:
            assert isinstance(self.fake, FakeBitbucketDataCenter)
            for p in self.fake.pulls.get(self.repo, []):
                if p["state"] == "OPEN" and p["fromRef"]["displayId"] == branch:
                    found.append(_bitbucket(p, p["toRef"]["displayId"]))
        return found

    @property
    def creates(self) -> str:
        return {"gitlab": "/merge_requests", "bitbucket": "/pullrequests"}.get(self.kind, "/pull-requests")


def _bitbucket(pull: dict[str, Any], base: str) -> dict[str, Any]:
    body, _, labels = pull["description"].rpartition(f"\n\n{LABELS_PREFIX}")
    return {"title": pull["title"], "body": body, "base": base, "labels": [x.strip("`") for x in labels.split()],
            "number": pull["id"]}


@pytest.fixture(scope="module")
def forges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Forge]]:
    root = tmp_path_factory.mktemp("forges")
    work = make_shop_repo(root / "work")
    made: dict[str, Forge] = {}
    with contextlib.ExitStack() as stack:
        for kind, repo in REPOS.items():
            bare = root / kind / f"{repo}.git"
            bare.parent.mkdir(parents=True, exist_ok=True)
            _git(root, "clone", "-q", "--bare", str(work), str(bare))
            fake: FakeForge
            if kind == "gitlab":
                fake = FakeGitLab(token=TOKENS[kind], repo_paths={repo: bare})
            elif kind == "bitbucket":  # an access token: git must send the user x-token-auth
                fake = FakeBitbucket(token=TOKENS[kind], repo_paths={repo: bare}, git_user="x-token-auth")
            else:
                fake = FakeBitbucketDataCenter(token=TOKENS[kind], repo_paths={repo: bare})
            made[kind] = Forge(kind, fake, stack.enter_context(serve_app(fake.app)), bare)
        yield made


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic([])
    with serve_app(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture(scope="module")
def service(forges: dict[str, Forge], llm: FakeAnthropic,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    sentry = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
    for kind, base in BASE_ISSUE.items():
        for n in range(1, 5):
            sentry.add_event(api_event(str(base + n)), project_slug=f"shop-{kind}")
    base_urls = {"gitlab": forges["gitlab"].url, "bitbucket": f"{forges['bitbucket'].url}/2.0",
                 "bitbucket-datacenter": forges["bitbucket-datacenter"].url}
    with serve_app(sentry.app) as sentry_url:
        svc = Service(tmp_path_factory.mktemp("svc"), sentry_url, config={
            "scms": [{"type": kind, "name": kind, "base-url": url} for kind, url in base_urls.items()],
            # No clone-url: each forge's own git URL, fetched and pushed with its own token user.
            "projects": [{"source-project": f"shop-{kind}", "scm-repo": REPOS[kind], "scm": kind}
                         for kind in REPOS],
            "llm": {"provider": "anthropic", "base-url": llm.url, "max-steps": 10},  # type: ignore[attr-defined]
            "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        }, env={"AUTOFIXER_LLM_KEY": API_KEY, **{ENV[k]: TOKENS[k] for k in TOKENS}}).start()
        yield svc
        svc.stop()


def _webhook_for(kind: str, issue: str) -> dict[str, Any]:
    body = _webhook(issue)
    body["data"]["issue"]["project"] = {"id": "1", "slug": f"shop-{kind}", "name": f"shop-{kind}"}
    return body


def _run(service: Service, llm: FakeAnthropic, kind: str, issue: str) -> dict[str, Any]:
    llm.script[:] = list(SCRIPT)
    response = service.post_webhook(_webhook_for(kind, issue), "issue")
    assert response.status_code == 202, response.text
    return service.wait_job(f"sentry:test-org:{issue}", timeout=90)["outcome"]


KINDS = list(REPOS)


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_issue_becomes_one_request_on_each_forge(service: Service, forges: dict[str, Forge],
                                                       llm: FakeAnthropic, kind: str) -> None:
    forge = forges[kind]
    issue = str(BASE_ISSUE[kind] + 1)
    branch = f"fix/auto-fixer-sentry-{issue}"

    outcome = _run(service, llm, kind, issue)

    assert outcome["state"] == "done", outcome
    assert outcome["publication"]["state"] == "opened"
    [opened] = forge.open_requests(branch)
    assert outcome["publication"]["pr_number"] == opened["number"]
    assert opened["base"] == "main" and opened["title"] == "fix: handle carts without discounts in apply_discount"
    assert opened["labels"] == ["auto-fix", "ai-generated", "confidence-high"]
    for part in ("AttributeError", "## Root cause", "**Confidence:** HIGH", "/organizations/test-org/issues/",
                 "> **Warning:**", "must be reviewed by a person"):
        assert part in opened["body"], part
    assert "<details>" not in opened["body"] and "[!WARNING]" not in opened["body"]  # Bitbucket shows them raw
    diff = subprocess.run(["git", "diff", "main", branch], cwd=forge.bare, check=True, capture_output=True,
                          text=True).stdout
    assert f"+{FIXED_LINE}" in diff
    # A redelivery is a duplicate: no second job, no second request.
    assert service.post_webhook(_webhook_for(kind, issue), "issue").json()["status"] == "duplicate"
    assert len(forge.open_requests(branch)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_request_opened_concurrently_is_reused_not_duplicated(service: Service, forges: dict[str, Forge],
                                                                llm: FakeAnthropic, kind: str) -> None:
    """The lookup misses a request another worker just opened: GitLab answers the POST with 409
    "Another open merge request already exists", Data Center with 409
    DuplicatePullRequestException, Bitbucket Cloud with 201 and the same PR."""
    forge = forges[kind]
    issue = str(BASE_ISSUE[kind] + 2)
    branch = f"fix/auto-fixer-sentry-{issue}"
    empty: Any = [] if kind == "gitlab" else {"values": [], "size": 0, "page": 1, "pagelen": 10}
    list_path = forge.creates
    forge.fake.fail_next("GET", list_path, 200, body=empty)
    fake: Any = forge.fake
    existing = fake.add_merge_request(forge.repo, branch) if kind == "gitlab" else fake.add_pull(forge.repo, branch)

    outcome = _run(service, llm, kind, issue)

    assert outcome["state"] == "done", outcome
    number = existing["iid"] if kind == "gitlab" else existing["id"]
    assert outcome["publication"]["pr_number"] == number
    assert [r["number"] for r in forge.open_requests(branch)] == [number]
    statuses = [r.status for r in forge.fake.find("POST", forge.creates)]
    assert statuses[-1] == (201 if kind == "bitbucket" else 409)


@pytest.mark.parametrize("kind", KINDS)
def test_a_rate_limit_with_retry_after_is_waited_out(service: Service, forges: dict[str, Forge],
                                                     llm: FakeAnthropic, kind: str) -> None:
    forge = forges[kind]
    issue = str(BASE_ISSUE[kind] + 3)
    forge.fake.fail_next("POST", forge.creates, 429, {"retry-after": "1"})
    before = len(forge.fake.find("POST", forge.creates))

    outcome = _run(service, llm, kind, issue)

    assert outcome["state"] == "done" and outcome["publication"]["state"] == "opened", outcome
    limited, created = forge.fake.find("POST", forge.creates)[before:]
    assert (limited.status, created.status) == (429, 201)
    assert created.started - limited.finished >= 0.9  # Retry-After: 1 honoured, not hammered
    assert len(forge.open_requests(f"fix/auto-fixer-sentry-{issue}")) == 1


def test_no_token_in_any_log_line_remote_url_or_git_config(service: Service, forges: dict[str, Forge]) -> None:
    log = service.log()
    assert "job started" in log
    configs = [p.read_text() for p in service.workdir.rglob("config") if p.parent.name.endswith(".git")]
    assert configs  # the mirrors exist, and their remote URLs are credential-free
    for secret in (*TOKENS.values(), API_KEY, SENTRY_TOKEN):
        assert secret not in log
        assert all(secret not in config for config in configs)
    for forge in forges.values():
        assert all(auth is not None for auth in forge.fake.git_auth_seen)  # private: every git call authenticated
