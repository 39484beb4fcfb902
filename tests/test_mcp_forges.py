"""The MCP `open_pull_request` tool on GitLab, Bitbucket Cloud and Bitbucket Data Center: the
issue's private repository is checked out through the forge's own git URL with its token user,
the staged fix pushed, and one merge/pull request opened (a second call publishes nothing new)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bitbucket_api import FakeBitbucket, FakeBitbucketDataCenter
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.sentry_api import FakeSentry
from tests.fakes.serve import serve_app
from tests.test_agent_loop import FIXED_LINE, _git
from tests.test_mcp import BRANCH, ok, origin, propose_and_open_twice, sentry, stdio_session, write_config

__all__ = ["origin", "sentry"]  # fixtures, shared with tests/test_mcp.py

TOKEN = "forge-" + "mcp-test-token-0123456789"
CASES = {  # kind: (repo, fake class, extra fake options, token variable)
    "gitlab": ("acme/backend/shop", FakeGitLab, {}, "AUTOFIXER_GITLAB_TOKEN"),
    "bitbucket": ("acme/shop", FakeBitbucket, {"git_user": "x-token-auth"}, "AUTOFIXER_BITBUCKET_TOKEN"),
    "bitbucket-datacenter": ("ACME/shop", FakeBitbucketDataCenter, {}, "AUTOFIXER_BITBUCKET_DC_TOKEN"),
}


@pytest.mark.parametrize("kind", list(CASES))
async def test_stdio_open_pull_request_on_each_forge(tmp_path: Path, sentry: tuple[FakeSentry, str, str],
                                                     origin: Path, kind: str) -> None:
    repo, fake_class, options, variable = CASES[kind]
    bare = tmp_path / "forge" / f"{repo}.git"
    bare.parent.mkdir(parents=True)
    _git(tmp_path, "clone", "-q", "--bare", str(origin), str(bare))
    fake: Any = fake_class(token=TOKEN, repo_paths={repo: bare}, **options)
    with serve_app(fake.app) as url:
        base_url = f"{url}/2.0" if kind == "bitbucket" else url
        config = write_config(tmp_path, sentry[1], "unused", behavior={"dry-run": False},
                              scm={"type": kind, "base-url": base_url},
                              projects=[{"source-project": "shop", "scm-repo": repo}])  # the forge's own git URL
        async with stdio_session(config, env={variable: TOKEN}) as (session, _):
            opened, again = await propose_and_open_twice(session)

    assert opened.structured_content is not None and opened.structured_content["state"] == "opened", ok(opened)
    assert again.structured_content == opened.structured_content
    creates = [r for r in fake.requests if r.method == "POST"]
    assert len(creates) == 1 and creates[0].status == 201
    shown = subprocess.run(["git", "--git-dir", str(bare), "show", f"{BRANCH}:shop/cart.py"],
                           capture_output=True, text=True, check=True)
    assert FIXED_LINE in shown.stdout
    assert fake.git_auth_seen and all(a is not None for a in fake.git_auth_seen)
