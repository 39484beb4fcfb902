"""Issue → pull request through the real service: signed webhook, fake Sentry API, the agent on
the real `anthropic` SDK against the fake Messages API, the branch pushed over git's smart HTTP
to a fake GitHub, and the PR opened through GitHub's REST API as documented."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_api import API_KEY, FakeAnthropic
from tests.fakes.github_api import FakeGitHub
from tests.fakes.sentry_api import FakeSentry
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import FIXED_LINE, _git, _submit_call, make_shop_repo
from tests.test_service_fix import SCRIPT, _webhook, api_event

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow

GITHUB_TOKEN = "test-github-token-not-real"
ISSUES = ["5001", "5002", "5003", "5004", "5005"]


@contextmanager
def github_serving(work: Path) -> Iterator[tuple[FakeGitHub, str, Path]]:
    """A fake GitHub serving `work` (a git repository) as acme/shop, from a bare clone beside it."""
    bare = work.parent / "acme" / "shop.git"
    _git(work.parent, "clone", "-q", "--bare", str(work), str(bare))
    fake = FakeGitHub(token=GITHUB_TOKEN, repo_paths={"acme/shop": bare})
    with serve_app(fake.app) as url:
        yield fake, url, bare


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeGitHub, str, Path]]:
    with github_serving(make_shop_repo(tmp_path_factory.mktemp("forge") / "work")) as served:
        yield served


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[FakeAnthropic, str]]:
    fake = FakeAnthropic([])
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="module")
def service(forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    sentry = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
    for issue in ISSUES:
        sentry.add_event(api_event(issue), project_slug="shop")
    _, github_url, _ = forge
    with serve_app(sentry.app) as sentry_url:
        svc = Service(tmp_path_factory.mktemp("svc"), sentry_url, config={
            "scm": {"type": "github", "base-url": github_url},
            "projects": [
                {"source-project": "shop", "scm-repo": "acme/shop", "clone-url": f"{github_url}/acme/shop.git"}
            ],
            "llm": {"provider": "anthropic", "base-url": llm[1], "max-steps": 10},
            "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        }, env={"AUTOFIXER_LLM_KEY": API_KEY, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN}).start()
        yield svc
        svc.stop()


def _run(service: Service, llm: FakeAnthropic, issue: str, script: list[Any]) -> dict[str, Any]:
    llm.script[:] = list(script)
    response = service.post_webhook(_webhook(issue), "issue")
    assert response.status_code == 202, response.text
    return service.wait_job(f"sentry:test-org:{issue}", timeout=90)["outcome"]


def _branch_diff(bare: Path, branch: str) -> str:
    return subprocess.run(["git", "diff", "main", branch], cwd=bare, check=True, capture_output=True,
                          text=True).stdout


def test_a_new_issue_becomes_a_pull_request(service: Service, forge: tuple[FakeGitHub, str, Path],
                                            llm: tuple[FakeAnthropic, str]) -> None:
    github, _, bare = forge
    outcome = _run(service, llm[0], "5001", SCRIPT)
    assert outcome["state"] == "done", outcome
    # A project without `tests:` runs no validate step, and its PR has no Validation section.
    assert "validate" not in outcome["stages"] and outcome["validation"] is None
    publication = outcome["publication"]
    assert publication["state"] == "opened" and outcome["pr_url"].endswith(f"/pull/{publication['pr_number']}")
    pull = next(p for p in github.pulls["acme/shop"] if p["head"]["ref"] == "fix/auto-fixer-sentry-5001")
    assert pull["base"]["ref"] == "main" and pull["state"] == "open"
    assert pull["title"] == "fix: handle carts without discounts in apply_discount"
    body = pull["body"]
    for part in ("AttributeError", "## Root cause", "apply_discount assumes discounts is a dict",
                 "`shop/cart.py`: Treat a missing discounts mapping", "**Confidence:** HIGH",
                 "/organizations/test-org/issues/5001/", "model turns", "must be reviewed by a person"):
        assert part in body, part
    assert "## Validation" not in body
    assert [label["name"] for label in pull["labels"]] == ["auto-fix", "ai-generated", "confidence-high"]
    # The pushed branch holds exactly the proposed change, in one commit by the bot identity.
    diff = _branch_diff(bare, "fix/auto-fixer-sentry-5001")
    assert diff.strip() == outcome["fix"]["diff"].strip() and f"+{FIXED_LINE}" in diff
    log = subprocess.run(["git", "log", "--format=%an <%ae>%n%B", "main..fix/auto-fixer-sentry-5001"], cwd=bare,
                         check=True, capture_output=True, text=True).stdout
    assert log.startswith("autofixer <autofixer@users.noreply.github.com>\nfix: ")
    assert "Sentry-Issue: http" in log
    # A redelivery is a duplicate: no second job, no second PR.
    assert service.post_webhook(_webhook("5001"), "issue").json()["status"] == "duplicate"
    assert len([p for p in github.pulls["acme/shop"] if p["head"]["ref"] == "fix/auto-fixer-sentry-5001"]) == 1


def test_low_confidence_opens_no_pull_request(service: Service, forge: tuple[FakeGitHub, str, Path],
                                              llm: tuple[FakeAnthropic, str]) -> None:
    github, _, _ = forge
    before = len(github.writes())
    outcome = _run(service, llm[0], "5002", [*SCRIPT[:3], [_submit_call("LOW")]])
    assert outcome["state"] == "skipped" and "LOW" in outcome["reason"], outcome
    assert outcome["fix"]["confidence"] == "LOW" and outcome["publication"]["state"] == "skipped"
    assert len(github.writes()) == before and outcome["pr_url"] is None


@pytest.mark.parametrize(
    ("issue", "trouble"),
    [("5003", "already_exists"), ("5004", "secondary_limit"), ("5005", "server_error")],
)
def test_github_trouble_ends_correctly(service: Service, forge: tuple[FakeGitHub, str, Path],
                                       llm: tuple[FakeAnthropic, str], issue: str, trouble: str) -> None:
    github, _, _ = forge
    branch = f"fix/auto-fixer-sentry-{issue}"
    if trouble == "already_exists":  # someone (an earlier run) already opened the PR for the branch
        github.fail_next("GET", "/pulls", 200, body=[])  # our lookup misses it, so the POST answers 422
    elif trouble == "secondary_limit":
        github.secondary_limit("POST", "/pulls", retry_after=1)
    else:
        github.fail_next("POST", "/pulls", 500)
    if trouble == "already_exists":
        github.add_pull("acme/shop", head=branch, base="main", title="fix: earlier attempt")
    outcome = _run(service, llm[0], issue, SCRIPT)
    assert outcome["state"] == "done", outcome
    publication = outcome["publication"]
    assert publication["state"] == ("existing" if trouble == "already_exists" else "opened"), publication
    assert len([p for p in github.pulls["acme/shop"] if p["head"]["ref"] == branch and p["state"] == "open"]) == 1


def test_no_token_in_any_log_line(service: Service) -> None:
    log = service.log()
    assert "job started" in log
    for secret in (GITHUB_TOKEN, API_KEY, SENTRY_TOKEN):
        assert secret not in log
