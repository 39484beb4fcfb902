"""GitHubProvider and git_push against real git and a fake GitHub over real HTTP on 127.0.0.1.

The fake (tests/fakes/github_api.py) answers GitHub's REST wire format from recorded exchanges
and serves the bare repositories over git's smart HTTP, so a branch is really pushed and the
pull request's head is checked against it. Waits are recorded by an injected sleep/clock pair,
so rate-limit handling is asserted exactly and takes no time.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scm import git_push
from scm.base import PullRequest, PullRequestSpec, ScmError
from scm.github import USER_AGENT, GitHubProvider, enterprise_api_url
from tests.fakes.github_api import FakeGitHub, recorded_already_exists, recorded_pull_request
from tests.fakes.serve import free_port, serve_app
from tests.test_workspace import commit, git
from tools.workspace import Workspaces

TOKEN = "ghp_" + "T0kenValueForTests1234567890abcdef"  # built: no token-shaped literal in the repo
BASIC = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
REPO = "acme/shop"
BRANCH = "fix/auto-fixer-sentry-42"
START = 1_700_000_000.0


# ---- helpers ---------------------------------------------------------------------------------------




def branch_sha(bare: Path, branch: str) -> str | None:
    proc = subprocess.run(["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def all_text_under(path: Path) -> str:
    return "\n".join(f.read_bytes().decode("latin-1") for f in path.rglob("*") if f.is_file())


class FakeTime:
    """Stands in for asyncio.sleep and time.time: records each wait and advances the clock."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback traffic must not be sent to a proxy configured on the host.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """The forge's bare repository acme/shop.git with one commit on main."""
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    commit(source, {"shop/cart.py": "def total(items):\n    return sum(i.price for i in items)\n"}, "initial")
    bare = tmp_path / "forge" / "acme" / "shop.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    return bare


@pytest.fixture
def worktree(origin: Path, tmp_path: Path) -> Path:
    """A checkout of origin with one fix commit on a detached HEAD (like a job's worktree)."""
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "--detach")
    commit(work, {"shop/cart.py": "def total(items):\n    return sum(i.price for i in items or [])\n"}, "fix: none")
    return work


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(origin: Path, time_: FakeTime) -> FakeGitHub:
    return FakeGitHub(token=TOKEN, repo_paths={REPO: origin}, clock=time_.clock)


@pytest.fixture
def base_url(fake: FakeGitHub) -> Iterator[str]:
    with serve_app(fake.app) as url:
        yield url


def make_provider(base_url: str, time_: FakeTime, **kwargs: Any) -> GitHubProvider:
    kwargs.setdefault("write_interval", 0.0)
    return GitHubProvider(kwargs.pop("token", TOKEN), base_url=base_url, sleep=time_.sleep, clock=time_.clock,
                          **kwargs)


@pytest.fixture
def provider(base_url: str, time_: FakeTime) -> GitHubProvider:
    return make_provider(base_url, time_)


@pytest.fixture
def pushed(worktree: Path, origin: Path) -> str:
    """BRANCH pushed to origin; its commit."""
    git(worktree, "push", "-q", str(origin), f"HEAD:refs/heads/{BRANCH}")
    sha = branch_sha(origin, BRANCH)
    assert sha
    return sha


def spec(**overrides: Any) -> PullRequestSpec:
    fields: dict[str, Any] = dict(repo=REPO, head=BRANCH, base="main", title="fix: total() of no items",
                                  body="## Root cause\n\n`items` may be None.", labels=["auto-fix", "ai-generated"])
    fields.update(overrides)
    return PullRequestSpec(**fields)


# ---- git_push ----------------------------------------------------------------------------------------


async def test_push_to_local_bare_repo_creates_branch_at_head(worktree: Path, origin: Path) -> None:
    await git_push.push_branch(worktree, BRANCH, str(origin), TOKEN)

    assert branch_sha(origin, BRANCH) == git(worktree, "rev-parse", "HEAD")
    for text in (all_text_under(origin), all_text_under(worktree / ".git")):
        assert TOKEN not in text and BASIC.split()[-1] not in text


async def test_push_force_replaces_what_an_earlier_attempt_pushed(worktree: Path, origin: Path) -> None:
    await git_push.push_branch(worktree, BRANCH, str(origin), None)
    git(worktree, "reset", "-q", "--hard", "HEAD~1")
    second = commit(worktree, {"shop/cart.py": "# another fix\n"}, "fix: again")  # not a descendant

    await git_push.push_branch(worktree, BRANCH, str(origin), None)

    assert branch_sha(origin, BRANCH) == second


async def test_push_over_http_passes_the_token_per_command_only(
    worktree: Path, origin: Path, fake: FakeGitHub, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    argvs: list[tuple[str, ...]] = []
    real_exec = asyncio.create_subprocess_exec

    async def spy(*argv: str, **kwargs: Any) -> Any:
        argvs.append(argv)
        return await real_exec(*argv, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    url = f"{base_url}/acme/shop.git"

    await git_push.push_branch(worktree, BRANCH, url, TOKEN)

    assert branch_sha(origin, BRANCH) == git(worktree, "rev-parse", "HEAD")
    assert BASIC in fake.git_auth_seen  # the server really got the token...
    flat = " ".join(" ".join(a) for a in argvs)
    assert TOKEN not in flat and BASIC.split()[-1] not in flat  # ...but never on a command line
    assert "protocol.file.allow" not in flat  # only for local-path remotes
    for text in (all_text_under(worktree / ".git"), all_text_under(origin)):
        assert TOKEN not in text and BASIC.split()[-1] not in text


async def test_push_lifts_a_token_out_of_the_url(worktree: Path, origin: Path, fake: FakeGitHub, base_url: str) -> None:
    url = base_url.replace("http://", f"http://x-access-token:{TOKEN}@") + "/acme/shop.git"
    await git_push.push_branch(worktree, BRANCH, url, None)
    assert branch_sha(origin, BRANCH) and BASIC in fake.git_auth_seen
    assert TOKEN not in all_text_under(worktree / ".git")


async def test_push_with_a_wrong_token_fails_cleanly(worktree: Path, base_url: str) -> None:
    wrong = "ghp_" + "WrongTokenValue0987654321zyxwv"
    started = time.monotonic()
    with pytest.raises(ScmError) as err:
        await git_push.push_branch(worktree, BRANCH, f"{base_url}/acme/shop.git", wrong)
    message = str(err.value)
    assert message.startswith(f"git push of {BRANCH} to {base_url}/acme/shop.git failed")
    assert wrong not in message and base64.b64encode(f"x-access-token:{wrong}".encode()).decode() not in message
    assert err.value.__cause__ is None
    assert time.monotonic() - started < 30  # failed, never sat at a password prompt


async def test_push_to_an_unreachable_remote_gives_a_clean_scm_error(worktree: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/acme/shop.git"
    with pytest.raises(ScmError) as err:
        await git_push.push_branch(worktree, BRANCH, url, TOKEN)
    assert url in str(err.value) and TOKEN not in str(err.value)

    with pytest.raises(ScmError, match="failed"):
        await git_push.push_branch(worktree, BRANCH, str(worktree.parent / "no-such.git"), TOKEN)


async def test_push_runs_no_client_hooks_and_reports_a_remote_refusal(worktree: Path, origin: Path,
                                                                      tmp_path: Path) -> None:
    witness = tmp_path / "hook-ran"
    hook = worktree / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\necho pre-push >> {witness}\nexit 1\n")
    hook.chmod(0o755)

    await git_push.push_branch(worktree, BRANCH, str(origin), None)
    assert branch_sha(origin, BRANCH) and not witness.exists()

    # The destination's own hooks are its policy (a forge runs them server-side): a refusal
    # comes back as a readable error.
    refuse = origin / "hooks" / "pre-receive"
    refuse.write_text("#!/bin/sh\necho 'branch protection: no' >&2\nexit 1\n")
    refuse.chmod(0o755)
    with pytest.raises(ScmError, match="pre-receive hook declined"):
        await git_push.push_branch(worktree, "fix/other", str(origin), None)


@pytest.mark.parametrize("bad", ["-f", "--mirror", "a..b", "fix/x.lock", "fix/", "x y", "HEAD@{1}", ""])
async def test_push_refuses_branch_names_git_could_misread(worktree: Path, origin: Path, bad: str) -> None:
    with pytest.raises(ScmError, match="invalid branch name"):
        await git_push.push_branch(worktree, bad, str(origin), None)


async def test_push_times_out(worktree: Path) -> None:
    # A server that takes the connection and never answers: git and its git-remote-http helper
    # would wait forever, so the timeout must stop both (the helper is in git's process group).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/acme/shop.git"
        started = time.monotonic()
        with pytest.raises(ScmError, match=r"timed out after 0\.3s"):
            await git_push.push_branch(worktree, BRANCH, url, None, timeout=0.3)
        assert time.monotonic() - started < 10
        assert not _processes_mentioning(url)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(text in arg for arg in argv):
            found.append(" ".join(argv))
    return found


# ---- opening pull requests ---------------------------------------------------------------------------


async def test_open_pull_request_end_to_end(
    origin: Path, tmp_path: Path, fake: FakeGitHub, base_url: str, time_: FakeTime
) -> None:
    provider = make_provider(base_url, time_)
    clone_url = f"{base_url}/acme/shop.git"
    workspaces = Workspaces(tmp_path / "state", prewarm=False)
    async with workspaces.checkout(clone_url, "main", "job-42", token=TOKEN) as ws:
        fixed = commit(ws.path, {"shop/cart.py": "def total(items):\n    return sum(i.price for i in items or [])\n"})
        await provider.push_branch(ws.path, BRANCH, clone_url)
        assert TOKEN not in all_text_under(ws.mirror) and TOKEN not in (ws.path / ".git").read_text()
    assert branch_sha(origin, BRANCH) == fixed

    pr = await provider.open_pull_request(spec(draft=True))

    assert pr == PullRequest(number=1, url="https://github.com/acme/shop/pull/1", head=BRANCH, base="main",
                             created=True)
    [stored] = fake.pulls[REPO]
    assert stored["head"]["ref"] == BRANCH and stored["head"]["sha"] == fixed
    assert stored["head"]["label"] == f"acme:{BRANCH}" and stored["base"]["ref"] == "main"
    assert stored["title"] == "fix: total() of no items" and stored["body"].startswith("## Root cause")
    assert stored["draft"] is True and [label["name"] for label in stored["labels"]] == ["auto-fix", "ai-generated"]

    api = fake.requests
    assert [(r.method, r.path) for r in api] == [
        ("GET", "/repos/acme/shop/pulls"),
        ("POST", "/repos/acme/shop/pulls"),
        ("POST", "/repos/acme/shop/issues/1/labels"),
    ]
    assert api[0].query == {"head": [f"acme:{BRANCH}"], "state": ["open"], "per_page": ["100"]}
    assert api[1].json == {"title": "fix: total() of no items", "head": BRANCH, "base": "main",
                           "body": "## Root cause\n\n`items` may be None.", "draft": True}
    assert api[2].json == {"labels": ["auto-fix", "ai-generated"]}
    for r in api:
        assert r.headers["authorization"] == f"Bearer {TOKEN}"
        assert r.headers["accept"] == "application/vnd.github+json"
        assert r.headers["x-github-api-version"] == "2022-11-28"
        assert r.headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("autofixer/")
    assert time_.waits == []


async def test_created_pull_request_has_the_recorded_shape(provider: GitHubProvider, fake: FakeGitHub,
                                                           pushed: str) -> None:
    await provider.open_pull_request(spec(labels=[]))
    [stored] = fake.pulls[REPO]
    assert set(recorded_pull_request()) <= set(stored) and "draft" in stored
    assert stored["url"].endswith("/repos/acme/shop/pulls/1") and stored["head"]["repo"]["full_name"] == REPO
    assert fake.find("POST", "/labels") == []  # no labels asked for, none sent


async def test_existing_open_pr_is_returned_without_any_write(provider: GitHubProvider, fake: FakeGitHub) -> None:
    existing = fake.add_pull(REPO, BRANCH, title="an earlier attempt")

    pr = await provider.open_pull_request(spec())

    assert pr == PullRequest(number=existing["number"], url=existing["html_url"], head=BRANCH, base="main",
                             created=False)
    assert fake.writes() == []


async def test_find_open_pull_request(provider: GitHubProvider, fake: FakeGitHub) -> None:
    assert await provider.find_open_pull_request(REPO, BRANCH) is None
    fake.add_pull(REPO, BRANCH)
    found = await provider.find_open_pull_request(REPO, BRANCH)
    assert found is not None and found.number == 1 and not found.created


async def test_a_closed_pr_for_the_branch_does_not_block_a_new_one(provider: GitHubProvider, fake: FakeGitHub,
                                                                  pushed: str) -> None:
    old = fake.add_pull(REPO, BRANCH)
    fake.close_pull(REPO, old["number"])

    pr = await provider.open_pull_request(spec())

    assert pr.created and pr.number == 2


async def test_a_pr_listed_for_another_head_is_not_taken_for_ours(provider: GitHubProvider, fake: FakeGitHub) -> None:
    # GitHub ignores a head filter it cannot parse and lists every open PR; never trust the filter.
    other = fake.add_pull(REPO, "someone-elses-branch")
    fake.fail_next("GET", "/pulls", 200, body=[other])
    assert await provider.find_open_pull_request(REPO, BRANCH) is None


async def test_422_already_exists_resolves_to_the_existing_pr(provider: GitHubProvider, fake: FakeGitHub,
                                                              pushed: str) -> None:
    existing = fake.add_pull(REPO, BRANCH)
    # Our lookup raced another worker: it saw no PR, then the POST collides with theirs.
    fake.fail_next("GET", "/pulls", 200, body=[])

    pr = await provider.open_pull_request(spec())

    assert pr.number == existing["number"] and pr.created is False
    [post] = fake.find("POST", "/pulls")
    assert post.status == 422
    assert fake.find("POST", "/labels") == []
    assert len(fake.pulls[REPO]) == 1


async def test_the_fakes_already_exists_answer_matches_githubs(base_url: str, fake: FakeGitHub, pushed: str) -> None:
    fake.add_pull(REPO, BRANCH)
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base_url}/repos/{REPO}/pulls", headers={"Authorization": f"Bearer {TOKEN}"},
                                   json={"title": "t", "head": BRANCH, "base": "main"})
    recorded = recorded_already_exists()
    recorded["errors"][0]["message"] = f"A pull request already exists for acme:{BRANCH}."
    assert response.status_code == 422 and response.json() == recorded
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used",
                   "x-ratelimit-resource"):
        assert header in response.headers
    assert int(response.headers["x-ratelimit-reset"]) == int(START) + 3600  # epoch seconds, not ms


async def test_head_branch_that_was_never_pushed_is_a_clear_error(provider: GitHubProvider) -> None:
    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec(head="fix/never-pushed"))
    assert err.value.status == 422
    assert "Validation Failed" in str(err.value) and "PullRequest head invalid" in str(err.value)


async def test_label_refusal_is_logged_and_the_pr_still_returned(
    provider: GitHubProvider, fake: FakeGitHub, pushed: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("POST", "/labels", 403, body={"message": "Resource not accessible by personal access token",
                                                 "documentation_url": "https://docs.github.com/rest"})
    with caplog.at_level(logging.WARNING, logger="scm.github"):
        pr = await provider.open_pull_request(spec())
    assert pr.created and "Resource not accessible by personal access token" in caplog.text


# ---- retries and rate limits -------------------------------------------------------------------------


async def test_secondary_limit_with_retry_after_waits_that_long(provider: GitHubProvider, fake: FakeGitHub,
                                                                time_: FakeTime, pushed: str) -> None:
    fake.secondary_limit("POST", "/pulls", retry_after=3)

    pr = await provider.open_pull_request(spec())

    assert pr.created and time_.waits == [3.0]
    assert [r.status for r in fake.find("POST", "/pulls")] == [403, 201]


async def test_secondary_limit_without_retry_after_waits_a_minute_then_longer(
    provider: GitHubProvider, fake: FakeGitHub, time_: FakeTime, pushed: str
) -> None:
    fake.secondary_limit("POST", "/pulls")
    fake.secondary_limit("POST", "/pulls", status=429)

    pr = await provider.open_pull_request(spec())

    assert pr.created and time_.waits == [60.0, 120.0]


async def test_min_secondary_wait_is_configurable(
    base_url: str, fake: FakeGitHub, time_: FakeTime, pushed: str
) -> None:
    fake.secondary_limit("GET", "/pulls")
    await make_provider(base_url, time_, min_secondary_wait=90.0).open_pull_request(spec())
    assert time_.waits == [90.0]


async def test_primary_limit_waits_until_the_reset(provider: GitHubProvider, fake: FakeGitHub,
                                                   time_: FakeTime, pushed: str) -> None:
    fake.primary_limit("GET", "/pulls", reset=int(START) + 120)

    pr = await provider.open_pull_request(spec())

    # Until x-ratelimit-reset (epoch seconds), plus a second for the header's granularity.
    assert pr.created and time_.waits == [121.0]


async def test_a_rate_limit_longer_than_max_wait_fails_instead_of_retrying_early(
    base_url: str, fake: FakeGitHub, time_: FakeTime
) -> None:
    fake.primary_limit("GET", "/pulls", reset=int(START) + 3000)
    provider = make_provider(base_url, time_, max_wait=600.0)

    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec())

    assert err.value.status == 403 and "asks to wait 3001s" in str(err.value)
    assert "API rate limit exceeded" in str(err.value)
    assert time_.waits == [] and len(fake.requests) == 1


async def test_500_then_201(provider: GitHubProvider, fake: FakeGitHub, time_: FakeTime, pushed: str) -> None:
    fake.fail_next("POST", "/pulls", 500)
    fake.fail_next("POST", "/pulls", 502)

    pr = await provider.open_pull_request(spec())

    assert pr.created and time_.waits == [1.0, 2.0]
    assert [r.status for r in fake.find("POST", "/pulls")] == [500, 502, 201]


async def test_persistent_500_is_an_scm_error_after_max_attempts(provider: GitHubProvider, fake: FakeGitHub,
                                                                  time_: FakeTime) -> None:
    for _ in range(5):
        fake.fail_next("GET", "/pulls", 500)

    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec())

    assert err.value.status == 500 and "after 5 attempts" in str(err.value) and "HTTP 500" in str(err.value)
    assert time_.waits == [1.0, 2.0, 4.0, 8.0] and len(fake.requests) == 5


async def test_backoff_is_capped_by_max_wait(base_url: str, fake: FakeGitHub, time_: FakeTime) -> None:
    for _ in range(4):
        fake.fail_next("GET", "/pulls", 503)
    provider = make_provider(base_url, time_, max_attempts=4, initial_backoff=10.0, max_wait=25.0)
    with pytest.raises(ScmError):
        await provider.find_open_pull_request(REPO, BRANCH)
    assert time_.waits == [10.0, 20.0, 25.0]


async def test_connection_errors_are_retried_then_reported(time_: FakeTime) -> None:
    provider = make_provider(f"http://127.0.0.1:{free_port()}", time_)
    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec())
    assert "connection failed" in str(err.value) and time_.waits == [1.0, 2.0, 4.0, 8.0]
    assert TOKEN not in str(err.value)


async def test_timeouts_are_retried(base_url: str, fake: FakeGitHub, time_: FakeTime) -> None:
    fake.fail_next("GET", "/pulls", 200, body=[], delay=3.0)
    provider = make_provider(base_url, time_, timeout=0.3)
    assert await provider.find_open_pull_request(REPO, BRANCH) is None
    assert time_.waits == [1.0] and len(fake.find("GET", "/pulls")) == 2


async def test_401_fails_at_once_with_githubs_message(base_url: str, fake: FakeGitHub, time_: FakeTime) -> None:
    wrong = "ghp_" + "WrongTokenValue0987654321zyxwv"
    provider = make_provider(base_url, time_, token=wrong)

    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec())

    assert err.value.status == 401 and "Bad credentials" in str(err.value)
    assert wrong not in str(err.value) and wrong not in repr(provider)
    assert time_.waits == [] and len(fake.requests) == 1


async def test_404_and_403_fail_at_once(provider: GitHubProvider, fake: FakeGitHub, time_: FakeTime,
                                        pushed: str) -> None:
    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec(repo="acme/unknown"))
    assert err.value.status == 404 and "Not Found" in str(err.value)

    fake.fail_next("POST", "/pulls", 403, body={"message": "Resource not accessible by personal access token",
                                                "documentation_url": "https://docs.github.com/rest"})
    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec())
    assert err.value.status == 403 and "Resource not accessible" in str(err.value)
    assert time_.waits == [] and len(fake.find("POST", "/pulls")) == 1


async def test_an_unsupported_api_version_is_refused(base_url: str, time_: FakeTime) -> None:
    provider = make_provider(base_url, time_, api_version="1999-01-01")
    with pytest.raises(ScmError) as err:
        await provider.find_open_pull_request(REPO, BRANCH)
    assert err.value.status == 400 and "X-GitHub-Api-Version" in str(err.value)


async def test_token_never_in_exceptions_or_logs(
    provider: GitHubProvider, fake: FakeGitHub, pushed: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A server that echoes the token back, in a rate-limit message and in a validation error.
    fake.fail_next("POST", "/pulls", 429, {"retry-after": "1"}, {"message": f"slow down, {TOKEN}"})
    fake.fail_next("POST", "/pulls", 422, body={"message": f"Validation Failed for {TOKEN}",
                                                "errors": [{"message": f"bad token {TOKEN}"}]})
    with pytest.raises(ScmError) as err:
        await provider.open_pull_request(spec())
    assert err.value.status == 422 and "[redacted]" in str(err.value)

    with pytest.raises(ScmError) as err2:
        await make_provider(f"http://127.0.0.1:{free_port()}", FakeTime(), max_attempts=2).open_pull_request(spec())

    texts = [str(err.value), repr(err.value), str(err2.value), repr(provider), caplog.text]
    assert "slow down" in caplog.text  # the warning was logged...
    assert not any(TOKEN in t for t in texts)  # ...with the token taken out


# ---- GitHub Enterprise Server and concurrency --------------------------------------------------------


async def test_github_enterprise_base_url_with_api_v3_prefix(origin: Path, worktree: Path, time_: FakeTime) -> None:
    ghe = FakeGitHub(token=TOKEN, path_prefix="/api/v3", repo_paths={REPO: origin},
                     web_url="https://ghe.example.com", clock=time_.clock)
    with serve_app(ghe.app) as server:
        provider = make_provider(enterprise_api_url(server), time_)
        await provider.push_branch(worktree, BRANCH, f"{server}/acme/shop.git")  # git on the same host
        pr = await provider.open_pull_request(spec())

    assert pr.url == "https://ghe.example.com/acme/shop/pull/1" and pr.created
    assert all(r.path.startswith("/api/v3/repos/acme/shop/") for r in ghe.requests)
    assert BASIC in ghe.git_auth_seen


def test_enterprise_api_url() -> None:
    assert enterprise_api_url("ghe.example.com") == "https://ghe.example.com/api/v3"
    assert enterprise_api_url("https://ghe.example.com/") == "https://ghe.example.com/api/v3"
    assert enterprise_api_url("https://ghe.example.com/api/v3") == "https://ghe.example.com/api/v3"


async def test_concurrent_calls_never_overlap_writes(provider: GitHubProvider, fake: FakeGitHub, worktree: Path,
                                                     origin: Path) -> None:
    branches = [f"fix/auto-fixer-sentry-{n}" for n in (1, 2, 3)]
    for branch in branches:
        await git_push.push_branch(worktree, branch, str(origin), None)
    fake.write_delay = 0.15  # each write is held long enough that an overlap would show

    prs = await asyncio.gather(*(provider.open_pull_request(spec(head=b)) for b in branches))

    assert sorted(pr.number for pr in prs) == [1, 2, 3] and all(pr.created for pr in prs)
    writes = sorted(fake.writes(), key=lambda r: r.started)
    assert len(writes) == 6 and fake.max_concurrent_writes == 1
    assert all(a.finished <= b.started for a, b in itertools.pairwise(writes))


async def test_concurrent_calls_for_one_branch_open_one_pr(provider: GitHubProvider, fake: FakeGitHub,
                                                           pushed: str) -> None:
    prs = await asyncio.gather(*(provider.open_pull_request(spec()) for _ in range(3)))

    assert len(fake.pulls[REPO]) == 1 and {pr.number for pr in prs} == {1}
    assert sum(pr.created for pr in prs) == 1
    assert fake.max_concurrent_writes == 1


async def test_writes_are_spaced_by_write_interval(base_url: str, fake: FakeGitHub, time_: FakeTime,
                                                   pushed: str) -> None:
    provider = make_provider(base_url, time_, write_interval=1.0)
    await provider.open_pull_request(spec())
    assert time_.waits == [1.0]  # between creating the PR and labelling it


async def test_a_long_body_is_clipped_to_githubs_limit(provider: GitHubProvider, fake: FakeGitHub, pushed: str) -> None:
    await provider.open_pull_request(spec(body="x" * 70_000))
    [post] = fake.find("POST", "/pulls")
    assert len(post.json["body"]) == 65536 and post.json["body"].endswith("65536 characters)")


def test_provider_meets_the_contract() -> None:
    from scm.base import ScmProvider

    provider: ScmProvider = GitHubProvider(TOKEN)
    assert provider.name == "github" and TOKEN not in repr(provider)
