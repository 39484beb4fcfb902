"""GitHub App auth against the fake GitHub: a JWT signed with the app's key buys an installation
token (POST /app/installations/{id}/access_tokens, verified RS256 by the fake), which is cached,
refreshed before it expires (the clock is injected), and used for REST calls and git pushes;
GitHub's documented 401/404/422 answers become one-line errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scm.base import ScmError, git_access
from scm.github import GitHubProvider
from scm.github_app import REFRESH_MARGIN_S, InstallationTokens
from tests.contracts.support import assert_secret_free, build_connector, make_origin, make_worktree
from tests.fakes.github_api import FakeGitHub, load_fixture
from tests.fakes.serve import serve_app
from tests.test_github import branch_sha
from tests.test_workspace import git

APP_ID = "Iv1.0123456789abcdef"
INSTALLATION = 4242
REPO = "acme/shop"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


PRIVATE_KEY, PUBLIC_KEY = _pem_pair()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path / "forge" / f"{REPO}.git")


@pytest.fixture
def fake(clock: Clock, origin: Path) -> Iterator[tuple[FakeGitHub, str]]:
    github = FakeGitHub(token="ghp_" + "NotTheAppsToken000000000000000000000", repo_paths={REPO: origin},
                        clock=clock, app_id=APP_ID, app_public_key=PUBLIC_KEY, installations={INSTALLATION})
    with serve_app(github.app) as url:
        yield github, url


async def _no_sleep(_: float) -> None:
    return None


def provider(url: str, clock: Clock, *, key: str = PRIVATE_KEY, installation: int = INSTALLATION) -> GitHubProvider:
    tokens = InstallationTokens(APP_ID, installation, key, api_url=url, api_version="2022-11-28", clock=clock,
                                sleep=_no_sleep, initial_backoff=0.0)
    return GitHubProvider("", base_url=url, app=tokens, clock=clock, sleep=_no_sleep, write_interval=0.0)


async def test_a_token_is_minted_once_cached_and_used_for_rest(fake: tuple[FakeGitHub, str], clock: Clock) -> None:
    github, url = fake
    forge = provider(url, clock)
    assert forge.git_token() is None  # nothing minted before it is needed

    for _ in range(3):
        assert await forge.find_open_pull_request(REPO, "fix/x") is None

    assert forge.app is not None and forge.app.minted == 1
    [mint] = github.find("POST", f"/app/installations/{INSTALLATION}/access_tokens")
    assert mint.headers["authorization"].startswith("Bearer ey")  # the JWT, not a token
    token = forge.git_token()
    assert token and token in github.installation_tokens
    lists = github.find("GET", f"/repos/{REPO}/pulls")
    assert [r.headers["authorization"] for r in lists] == [f"Bearer {token}"] * 3


async def test_the_token_is_refreshed_before_it_expires(fake: tuple[FakeGitHub, str], clock: Clock) -> None:
    github, url = fake
    forge = provider(url, clock)
    await forge.find_open_pull_request(REPO, "fix/x")
    first = forge.git_token()

    clock.now += 3600 - REFRESH_MARGIN_S - 1  # still fresh: no new token
    await forge.find_open_pull_request(REPO, "fix/x")
    assert forge.git_token() == first and forge.app is not None and forge.app.minted == 1

    clock.now += 2  # inside the margin: a new one, before GitHub would refuse the old
    await forge.find_open_pull_request(REPO, "fix/x")
    assert forge.app.minted == 2 and forge.git_token() != first
    assert len(forge.git_token() or "") != len(first or "")  # nothing assumes a token length

    clock.now += 3600  # long expired (a process idle for hours): minted again, never sent stale
    await forge.find_open_pull_request(REPO, "fix/x")
    assert forge.app.minted == 3
    assert all(r.status == 200 for r in github.find("GET", f"/repos/{REPO}/pulls"))


async def test_pushes_and_fetches_use_the_installation_token(
    fake: tuple[FakeGitHub, str], clock: Clock, origin: Path, tmp_path: Path
) -> None:
    github, url = fake
    forge = provider(url, clock)
    worktree = make_worktree(origin, tmp_path / "work")

    await forge.push_branch(worktree, "fix/app", forge.clone_url(REPO).replace("https://github.com", url))

    assert branch_sha(origin, "fix/app") == git(worktree, "rev-parse", "HEAD")
    access = await git_access(forge)
    assert access["token"] == forge.git_token() and access["token_user"] == "x-access-token"
    assert github.git_auth_seen[-1] is not None


@pytest.mark.parametrize(("case", "status", "hint"), [
    ("another app's key", 401, "check app-id and the private key"),
    ("unknown installation", 404, "check installation-id"),
    ("permissions not granted", 422, "not granted the permissions"),
])
async def test_documented_refusals_are_clear_one_line_errors(
    fake: tuple[FakeGitHub, str], clock: Clock, case: str, status: int, hint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    github, url = fake
    other_key, _ = _pem_pair()
    if case == "another app's key":
        forge = provider(url, clock, key=other_key)
    elif case == "unknown installation":
        forge = provider(url, clock, installation=999)
    else:
        forge = provider(url, clock)
        github.fail_next("POST", "/access_tokens", 422,
                         body=load_fixture("pygithub__app-installation-access-tokens.json")[3]["response"]["body"])

    with pytest.raises(ScmError) as err:
        await forge.find_open_pull_request(REPO, "fix/x")

    assert err.value.status == status and not err.value.retryable
    assert hint in str(err.value) and "\n" not in str(err.value)
    assert github.find("GET", f"/repos/{REPO}/pulls") == []  # no REST call went out without a token
    assert_secret_free([str(err.value), caplog.text, repr(forge)],
                       [PRIVATE_KEY.splitlines()[1], other_key.splitlines()[1]])


async def test_an_expired_jwt_is_refused_with_githubs_message(fake: tuple[FakeGitHub, str], clock: Clock) -> None:
    _, url = fake
    behind = Clock()
    behind.now = clock.now - 3600  # this host's clock is an hour behind GitHub's: its JWT has expired
    forge = provider(url, behind)
    with pytest.raises(ScmError) as err:
        await forge.find_open_pull_request(REPO, "fix/x")
    assert err.value.status == 401 and "'Expiration time' claim" in str(err.value)


def test_config_reads_the_key_from_a_file_named_by_env(tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(PRIVATE_KEY)
    entry = {"type": "github", "name": "gh-app", "auth": "app", "app-id": APP_ID, "installation-id": INSTALLATION}
    forge = build_connector("scms", entry, {"AUTOFIXER_GITHUB_APP_PRIVATE_KEY_FILE": str(key_file)})
    assert forge.app is not None and forge.app.app_jwt().count(".") == 2

    with pytest.raises(Exception, match="app-id and installation-id"):
        build_connector("scms", {"type": "github", "auth": "app"}, {})


async def test_a_missing_key_says_which_variable_to_set() -> None:
    entry = {"type": "github", "auth": "app", "app-id": APP_ID, "installation-id": INSTALLATION}
    forge = build_connector("scms", entry, {})
    with pytest.raises(ScmError, match="AUTOFIXER_GITHUB_APP_PRIVATE_KEY"):
        await forge.find_open_pull_request(REPO, "fix/x")


async def test_minted_tokens_never_reach_logs_or_errors(
    fake: tuple[FakeGitHub, str], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github, url = fake
    forge = provider(url, clock)
    await forge.find_open_pull_request(REPO, "fix/x")
    token = forge.git_token()
    assert token
    github.fail_next("GET", "/pulls", 400, body={"message": f"bad request near {token}"})
    with pytest.raises(ScmError) as err:
        await forge.find_open_pull_request(REPO, "fix/x")
    assert_secret_free([str(err.value), caplog.text, repr(forge)], [token])
