"""Workspaces over real git repositories: a local source repo (file path as clone URL) and, for
token handling, git's own smart-HTTP server (`git http-backend`) behind a loopback fake."""

from __future__ import annotations

import asyncio
import base64
import math
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.serve import serve_app
from tools import workspace as ws_mod
from tools.workspace import (
    Resolved,
    Workspace,
    WorkspaceError,
    Workspaces,
    _file_lock,
    is_local_url,
    mirror_name,
    redact_url,
    release_candidates,
    split_credentials,
)

TOKEN = "ghs_S3cretT0kenValue1234567890"


# ---- helpers ---------------------------------------------------------------------------------------


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})},
    )
    return proc.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for rel, content in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(path: Path, files: dict[str, str] | None = None, branch: str = "main") -> str:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    return commit(path, files or {"app/main.py": "print('v1')\n"}, "initial")


def mirror_config(mirror: Path) -> str:
    return git(mirror, "--git-dir", str(mirror), "config", "--list", "--local")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    repo = tmp_path / "source"
    make_repo(repo)
    return repo


@pytest.fixture
async def workspaces(tmp_path: Path) -> AsyncIterator[Workspaces]:
    wss = Workspaces(tmp_path / "state")
    yield wss
    await wss.aclose()


# ---- first and later checkouts -----------------------------------------------------------------------


async def test_first_checkout_clones_mirror_and_yields_worktree(source: Path, workspaces: Workspaces) -> None:
    head = git(source, "rev-parse", "HEAD")
    async with workspaces.checkout(str(source), "main", "job-1") as ws:
        assert isinstance(ws, Workspace)
        assert ws.base_sha == head and ws.branch == "main" and ws.target == "branch"
        assert (ws.path / "app/main.py").read_text() == "print('v1')\n"
        assert ws.path.parent == workspaces.worktrees_dir
        assert ws.mirror.parent == workspaces.mirrors_dir and ws.mirror.name.endswith(".git")
        assert git(ws.mirror, "--git-dir", str(ws.mirror), "rev-parse", "--is-bare-repository") == "true"
        # Detached: the job's edits never move a branch of the shared mirror.
        assert git(ws.path, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"
        assert git(ws.path, "status", "--porcelain") == ""
    assert not ws.path.exists()


async def test_second_checkout_fetches_new_commits(source: Path, workspaces: Workspaces) -> None:
    async with workspaces.checkout(str(source), "main", "job-1") as first:
        pass
    new_head = commit(source, {"app/main.py": "print('v2')\n", "app/new.py": "x = 1\n"}, "second")
    async with workspaces.checkout(str(source), "main", "job-2") as second:
        assert second.mirror == first.mirror  # reused, not cloned again
        assert second.base_sha == new_head != first.base_sha
        assert (second.path / "app/main.py").read_text() == "print('v2')\n"
        assert (second.path / "app/new.py").exists()


async def test_fetch_prunes_deleted_branches(source: Path, workspaces: Workspaces) -> None:
    git(source, "branch", "feature")
    async with workspaces.checkout(str(source), "main", "job-1") as ws:
        assert "feature" in git(ws.mirror, "--git-dir", str(ws.mirror), "branch")
    git(source, "branch", "-D", "feature")
    async with workspaces.checkout(str(source), "main", "job-2") as ws:
        assert "feature" not in git(ws.mirror, "--git-dir", str(ws.mirror), "branch")


async def test_checkout_of_a_non_default_branch_name(tmp_path: Path, workspaces: Workspaces) -> None:
    repo = tmp_path / "trunk-repo"
    sha = make_repo(repo, branch="trunk")
    async with workspaces.checkout(str(repo), "trunk", "job") as ws:
        assert ws.base_sha == sha and ws.branch == "trunk"


# ---- release resolution -----------------------------------------------------------------------------


@pytest.fixture
def two_commit_repo(source: Path) -> tuple[Path, str, str]:
    old = git(source, "rev-parse", "HEAD")
    n = 0
    while old[:8].isdigit():  # all-digit abbreviations are deliberately not tried as shas
        n += 1
        git(source, "commit", "-q", "--amend", "-m", f"initial {n}")
        old = git(source, "rev-parse", "HEAD")
    git(source, "tag", "v1.0")
    new = commit(source, {"app/main.py": "print('v2')\n"}, "second")
    return source, old, new


@pytest.mark.parametrize(
    "release_of",
    [
        lambda sha: sha,  # full sha
        lambda sha: sha[:12],  # abbreviated
        lambda sha: f"backend@{sha[:9]}",
        lambda sha: f"backend-{sha[:10]}",
        lambda sha: f"1.4.2+{sha[:8]}",
        lambda sha: f"  {sha.upper()}  ",
    ],
    ids=["full", "short", "name@sha", "name-sha", "semver+sha", "upper-with-spaces"],
)
async def test_release_naming_a_commit_is_checked_out(
    two_commit_repo: tuple[Path, str, str], workspaces: Workspaces, release_of: Any
) -> None:
    repo, old, _new = two_commit_repo
    async with workspaces.checkout(str(repo), "main", "job", release=release_of(old)) as ws:
        assert ws.target == "release" and ws.base_sha == old
        assert (ws.path / "app/main.py").read_text() == "print('v1')\n"


@pytest.mark.parametrize("release", ["1.0", "v1.0", "backend@1.0"])
async def test_release_naming_a_tag_is_checked_out(
    two_commit_repo: tuple[Path, str, str], workspaces: Workspaces, release: str
) -> None:
    repo, old, _new = two_commit_repo
    async with workspaces.checkout(str(repo), "main", "job", release=release) as ws:
        assert ws.target == "release" and ws.base_sha == old and ws.release_ref == "refs/tags/v1.0"


@pytest.mark.parametrize(
    "release",
    [
        None, "", "backend@2.0.0", "deadbeefdeadbeef", "backend@0123456789abcdef0123", "--upload-pack=evil",
        "HEAD~1", "main",
    ],
)
async def test_unknown_or_unsafe_release_falls_back_to_branch_head(
    two_commit_repo: tuple[Path, str, str], workspaces: Workspaces, release: str | None
) -> None:
    repo, _old, new = two_commit_repo
    async with workspaces.checkout(str(repo), "main", "job", release=release) as ws:
        assert ws.target == "branch" and ws.base_sha == new and ws.release_ref is None


async def test_a_release_off_the_default_branch_is_not_a_pr_base(
    two_commit_repo: tuple[Path, str, str], workspaces: Workspaces
) -> None:
    """Event data names the release: a commit on an unmerged branch must not become the base of
    a PR into main (its commits would ride along), so the branch head is used instead."""
    repo, _old, new = two_commit_repo
    git(repo, "checkout", "-q", "-b", "wip")
    unmerged = commit(repo, {"app/main.py": "print('wip')\n"}, "unmerged work")
    git(repo, "checkout", "-q", "main")
    async with workspaces.checkout(str(repo), "main", "job", release=f"backend@{unmerged[:12]}") as ws:
        assert ws.target == "branch" and ws.base_sha == new


def test_release_candidates() -> None:
    sha = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    assert release_candidates(f"my-app@{sha}")[0] == sha
    assert release_candidates("my-app-abc1234")[0] == "abc1234"
    # An all-digit abbreviated "sha" is far more likely a build number or a date.
    assert not any(c for c in release_candidates("20240101") if not c.startswith("refs/tags/"))
    assert release_candidates("backend@1.2.3") == ["refs/tags/backend@1.2.3", "refs/tags/1.2.3", "refs/tags/v1.2.3"]
    assert all(not c.startswith("-") for c in release_candidates("-x"))
    assert release_candidates("a..b") == []
    assert release_candidates(None) == [] and release_candidates("  ") == []


async def test_explicit_commit_pins_the_worktree(
    two_commit_repo: tuple[Path, str, str], workspaces: Workspaces
) -> None:
    repo, old, _new = two_commit_repo
    async with workspaces.checkout(str(repo), "main", "job", release="v9", commit=old) as ws:
        assert ws.target == "commit" and ws.base_sha == old
    with pytest.raises(WorkspaceError, match="not in"):
        async with workspaces.checkout(str(repo), "main", "job", commit="f" * 40):
            pass


# ---- concurrency ------------------------------------------------------------------------------------


class CountingWorkspaces(Workspaces):
    """Records how many mirror syncs run at once (per mirror and overall)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.guard = threading.Lock()
        self.active: dict[str, int] = {}
        self.max_per_mirror = 0
        self.max_overall = 0
        self.syncs = 0

    def _sync_mirror(self, remote: Any, mirror: Path) -> None:
        with self.guard:
            self.syncs += 1
            self.active[str(mirror)] = self.active.get(str(mirror), 0) + 1
            self.max_per_mirror = max(self.max_per_mirror, self.active[str(mirror)])
            self.max_overall = max(self.max_overall, sum(self.active.values()))
        try:
            time.sleep(0.3)  # widen the window in which an overlap would show
            super()._sync_mirror(remote, mirror)
        finally:
            with self.guard:
                self.active[str(mirror)] -= 1


async def test_concurrent_checkouts_of_one_repo_fetch_one_at_a_time(source: Path, tmp_path: Path) -> None:
    wss = CountingWorkspaces(tmp_path / "state")
    commit(source, {"b.txt": "b\n"})
    head = git(source, "rev-parse", "HEAD")
    seen: list[Workspace] = []

    async def job(job_id: str) -> None:
        async with wss.checkout(str(source), "main", job_id) as ws:
            seen.append(ws)
            await asyncio.sleep(0.05)
            assert (ws.path / "b.txt").exists()

    await asyncio.gather(job("a"), job("b"), job("c"))
    await wss.aclose()
    assert len({w.path for w in seen}) == 3 and {w.base_sha for w in seen} == {head}
    assert wss.max_per_mirror == 1
    # Jobs b and c asked while the first clone was already under way, so it may predate their
    # request and one more fetch is needed; that single fetch serves both of them.
    assert wss.syncs == 2
    assert not any(w.path.exists() for w in seen)


async def test_fetch_after_a_completed_fetch_is_not_skipped(source: Path, tmp_path: Path) -> None:
    wss = CountingWorkspaces(tmp_path / "state")
    async with wss.checkout(str(source), "main", "a"):
        pass
    async with wss.checkout(str(source), "main", "b"):
        pass
    await wss.aclose()
    assert wss.syncs == 2


async def test_different_repositories_sync_in_parallel(tmp_path: Path) -> None:
    wss = CountingWorkspaces(tmp_path / "state")
    repos = [tmp_path / "r1", tmp_path / "r2"]
    for repo in repos:
        make_repo(repo)
    loop_ticks = 0

    async def ticker() -> None:
        nonlocal loop_ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            loop_ticks += 1

    async def job(repo: Path) -> None:
        async with wss.checkout(str(repo), "main", f"job-{repo.name}"):
            pass

    await asyncio.gather(job(repos[0]), job(repos[1]), ticker())
    await wss.aclose()
    assert wss.max_overall == 2
    assert loop_ticks == 20  # git ran in threads; the event loop kept turning


def test_file_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    lock_path = tmp_path / "m.lock"
    order: list[str] = []
    inside = threading.Event()

    def holder() -> None:
        with _file_lock(lock_path):
            inside.set()
            time.sleep(0.2)
            order.append("first released")

    t = threading.Thread(target=holder)
    t.start()
    inside.wait(5)
    with _file_lock(lock_path):  # a separate open file description, as another process would have
        order.append("second acquired")
    t.join()
    assert order == ["first released", "second acquired"]


# ---- cleanup ----------------------------------------------------------------------------------------


def worktree_list(mirror: Path) -> str:
    return git(mirror, "--git-dir", str(mirror), "worktree", "list", "--porcelain")


async def test_worktree_removed_and_pruned_even_on_exception(source: Path, workspaces: Workspaces) -> None:
    captured: dict[str, Path] = {}
    with pytest.raises(RuntimeError, match="boom"):
        async with workspaces.checkout(str(source), "main", "job-x") as ws:
            captured["path"], captured["mirror"] = ws.path, ws.mirror
            (ws.path / "scratch.txt").write_text("uncommitted edit")
            raise RuntimeError("boom")
    assert not captured["path"].exists()
    await workspaces.aclose()
    listed = [
        ln.split(" ", 1)[1] for ln in worktree_list(captured["mirror"]).splitlines() if ln.startswith("worktree ")
    ]
    assert str(captured["path"]) not in listed
    # What remains registered is the mirror itself and the spare for the next job, nothing stale.
    others = [Path(p) for p in listed if Path(p) != captured["mirror"]]
    assert [p.name for p in others] == [workspaces.spare_path(captured["mirror"]).name]
    assert all(p.exists() for p in others)


async def test_worktree_removed_when_the_job_is_cancelled(source: Path, workspaces: Workspaces) -> None:
    entered = asyncio.Event()
    paths: list[Path] = []

    async def job() -> None:
        async with workspaces.checkout(str(source), "main", "job-c") as ws:
            paths.append(ws.path)
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(job())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)  # let the shielded cleanup thread finish if it is still running
    for _ in range(100):
        if not paths[0].exists():
            break
        await asyncio.sleep(0.05)
    assert not paths[0].exists()


async def test_stale_worktree_of_a_crashed_job_is_replaced(source: Path, workspaces: Workspaces) -> None:
    stale = workspaces.worktree_path("sentry:acme:42")
    stale.mkdir(parents=True)
    (stale / "leftover.txt").write_text("from a crashed run")
    async with workspaces.checkout(str(source), "main", "sentry:acme:42") as ws:
        assert ws.path == stale.resolve()
        assert not (ws.path / "leftover.txt").exists() and (ws.path / "app/main.py").exists()
        assert ":" not in ws.path.name


# ---- errors -----------------------------------------------------------------------------------------


async def test_unknown_branch_is_a_clear_error(source: Path, workspaces: Workspaces) -> None:
    with pytest.raises(WorkspaceError, match=r"branch 'develop' not found .*branches: main"):
        async with workspaces.checkout(str(source), "develop", "job"):
            pass
    assert not any(workspaces.worktrees_dir.glob("*"))


async def test_unreachable_repository_leaves_no_half_mirror(tmp_path: Path, workspaces: Workspaces) -> None:
    with pytest.raises(WorkspaceError, match="git fetch failed"):
        async with workspaces.checkout(str(tmp_path / "does-not-exist"), "main", "job"):
            pass
    assert not any(workspaces.mirrors_dir.glob("*.git")) and not any(workspaces.mirrors_dir.glob("*.tmp-*"))


# ---- hooks never run --------------------------------------------------------------------------------


def evil_hooks(tmp_path: Path, marker: Path) -> Path:
    hooks = tmp_path / "evil-hooks"
    hooks.mkdir()
    for name in ("post-checkout", "reference-transaction", "post-index-change", "pre-auto-gc", "fsmonitor-watchman"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\nexit 0\n")
        hook.chmod(0o755)
    return hooks


async def test_hooks_from_any_source_never_run(
    tmp_path: Path, workspaces: Workspaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hook-ran.txt"
    hooks = evil_hooks(tmp_path, marker)
    source = tmp_path / "hooked"
    make_repo(source, {"app.py": "x = 1\n", ".githooks/post-checkout": f"#!/bin/sh\necho repo >> {marker}\n"})
    (source / ".githooks/post-checkout").chmod(0o755)
    git(source, "config", "core.hooksPath", ".githooks")  # the source repo's own config
    (source / ".git/hooks/post-checkout").write_text(f"#!/bin/sh\necho source >> {marker}\n")
    (source / ".git/hooks/post-checkout").chmod(0o755)
    marker.unlink(missing_ok=True)

    # A host-wide config pointing hooks somewhere: prove it would fire for plain git ...
    global_cfg = tmp_path / "gitconfig"
    global_cfg.write_text(f"[core]\n\thooksPath = {hooks}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_cfg))
    control = tmp_path / "control"
    subprocess.run(["git", "clone", "-q", str(source), str(control)], check=True, capture_output=True)
    assert marker.exists(), "control: plain git should have run the post-checkout hook"
    marker.unlink()

    # ... but never for our checkouts, including after the mirror itself is tampered with.
    async with workspaces.checkout(str(source), "main", "job-1") as ws:
        assert (ws.path / "app.py").exists()
        mirror = ws.mirror
    await workspaces.aclose()  # the spare exists, so job-2 also exercises the incremental checkout
    (mirror / "hooks").mkdir(exist_ok=True)
    (mirror / "hooks/post-checkout").write_text(f"#!/bin/sh\necho mirror >> {marker}\n")
    (mirror / "hooks/post-checkout").chmod(0o755)
    subprocess.run(["git", "--git-dir", str(mirror), "config", "core.hooksPath", str(hooks)], check=True)
    commit(source, {"app.py": "x = 2\n"})
    async with workspaces.checkout(str(source), "main", "job-2") as ws:
        assert (ws.path / "app.py").read_text() == "x = 2\n" and ws.prewarmed
    async with Workspaces(workspaces.state_dir, prewarm=False).checkout(str(source), "main", "job-3") as ws:
        assert not ws.prewarmed
    await workspaces.aclose()
    assert not marker.exists(), marker.read_text()


async def test_submodules_are_not_fetched(tmp_path: Path, workspaces: Workspaces) -> None:
    sub = tmp_path / "sub"
    make_repo(sub, {"lib.py": "y = 1\n"})
    parent = tmp_path / "parent"
    make_repo(parent, {"app.py": "x = 1\n"})
    git(parent, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendored")
    git(parent, "commit", "-q", "-m", "add submodule")
    async with workspaces.checkout(str(parent), "main", "job") as ws:
        assert (ws.path / ".gitmodules").exists()
        assert not (ws.path / "vendored/lib.py").exists()


# ---- tokens -----------------------------------------------------------------------------------------


def test_url_helpers() -> None:
    assert split_credentials(f"https://x-access-token:{TOKEN}@github.com/o/r.git") == \
        ("https://github.com/o/r.git", TOKEN)
    assert split_credentials(f"https://{TOKEN}@gitlab.com/o/r.git") == ("https://gitlab.com/o/r.git", TOKEN)
    assert split_credentials("git@github.com:o/r.git") == ("git@github.com:o/r.git", None)
    assert redact_url(f"http://u:{TOKEN}@host:8080/r") == "http://host:8080/r"
    assert is_local_url("/srv/repo") and is_local_url("./repo") and is_local_url("file:///srv/repo")
    assert not is_local_url("git@github.com:o/r.git") and not is_local_url("https://github.com/o/r")
    assert mirror_name("https://github.com/acme/shop.git").startswith("github.com_acme_shop-")
    assert mirror_name(f"https://t:{TOKEN}@github.com/acme/shop.git") == mirror_name("https://github.com/acme/shop.git")


def _all_text_under(path: Path) -> str:
    chunks = []
    for f in path.rglob("*"):
        if f.is_file():
            chunks.append(f.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


async def test_token_with_local_path_never_reaches_mirror_config(source: Path, workspaces: Workspaces) -> None:
    async with workspaces.checkout(str(source), "main", "job", token=TOKEN) as ws:
        cfg = mirror_config(ws.mirror)
        assert TOKEN not in cfg and "extraheader" not in cfg.lower()
        assert TOKEN not in _all_text_under(ws.mirror)
        assert "protocol.file.allow" not in cfg  # passed per command, never persisted


class GitHttpFake:
    """`git http-backend` (git's own smart-HTTP server) as an ASGI app demanding one Basic token."""

    def __init__(self, root: Path, expected_auth: str) -> None:
        self.root = root
        self.expected_auth = expected_auth
        self.auth_seen: list[str | None] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (msg := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.auth_seen.append(headers.get("authorization"))
        if headers.get("authorization") != self.expected_auth:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"www-authenticate", b'Basic realm="git"')]})
            await send({"type": "http.response.body", "body": b"auth required"})
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": scope["path"],
            "QUERY_STRING": scope["query_string"].decode(),
            "REQUEST_METHOD": scope["method"],
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": headers.get("content-encoding", ""),
            "GIT_PROTOCOL": headers.get("git-protocol", ""),
        }
        proc = await asyncio.create_subprocess_exec(
            "git", "http-backend", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        out, _err = await proc.communicate(body)
        head, _, payload = out.partition(b"\r\n\r\n")
        status, resp_headers = 200, []
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.lower() == b"status":
                status = int(value.strip().split()[0])
            elif name:
                resp_headers.append((name.strip().lower(), value.strip()))
        await send({"type": "http.response.start", "status": status, "headers": resp_headers})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def http_remote(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, GitHttpFake]]:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(served / "shop.git")], check=True)
    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    fake = GitHttpFake(served, expected)
    with serve_app(fake) as base:
        yield f"{base}/shop.git", fake


def git_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Put a `git` running the shell `script` first on PATH (where the runner looks it up)."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


_END = "@@end-of-command@@"


class CommandLog:
    """Every git command line started, as `ps` would show it (read from the log on demand)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[list[str]]:
        text = self.path.read_text() if self.path.exists() else ""
        return iter([cmd.strip("\n").split("\n") for cmd in text.split(_END) if cmd.strip("\n")])


@pytest.fixture
def recorded_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CommandLog:
    real_git = shutil.which("git")
    assert real_git is not None
    log = tmp_path / "git-commands.log"
    git_on_path(tmp_path, monkeypatch, f'printf "%s\\n" git "$@" {_END} >> {log}\nexec {real_git} "$@"')
    return CommandLog(log)


async def test_token_authenticates_over_http_and_is_never_persisted(
    http_remote: tuple[str, GitHttpFake], workspaces: Workspaces, recorded_commands: CommandLog, source: Path
) -> None:
    url, fake = http_remote
    async with workspaces.checkout(url, "main", "job", token=TOKEN) as ws:
        assert ws.base_sha == git(source, "rev-parse", "HEAD")
        assert (ws.path / "app/main.py").exists()
        cfg = mirror_config(ws.mirror)
        assert f"remote.origin.url={url}" in cfg
        assert "protocol.file.allow" not in " ".join(c for cmd in recorded_commands for c in cmd)
        b64 = fake.expected_auth.split()[-1]
        for text in (cfg, _all_text_under(ws.mirror), _all_text_under(ws.path)):
            assert TOKEN not in text and b64 not in text
    assert fake.expected_auth in fake.auth_seen
    # Not on any command line either (visible to every local user through ps).
    flat = " ".join(c for cmd in recorded_commands for c in cmd)
    assert "fetch" in flat and "core.hooksPath=/dev/null" in flat  # the log did see our commands
    assert TOKEN not in flat and fake.expected_auth.split()[-1] not in flat


async def test_token_embedded_in_the_url_is_lifted_out(
    http_remote: tuple[str, GitHttpFake], workspaces: Workspaces
) -> None:
    url, fake = http_remote
    with_creds = url.replace("http://", f"http://x-access-token:{TOKEN}@")
    async with workspaces.checkout(with_creds, "main", "job") as ws:
        cfg = mirror_config(ws.mirror)
        assert TOKEN not in cfg and f"remote.origin.url={url}" in cfg
    assert fake.expected_auth in fake.auth_seen


async def test_wrong_token_fails_cleanly_without_leaking(
    http_remote: tuple[str, GitHttpFake], workspaces: Workspaces
) -> None:
    url, _fake = http_remote
    wrong = "ghs_WrongTokenValue0987654321"
    with pytest.raises(WorkspaceError) as err:
        async with workspaces.checkout(url, "main", "job", token=wrong):
            pass
    message = str(err.value)
    assert "git fetch failed" in message and url in message
    assert wrong not in message and base64.b64encode(f"x-access-token:{wrong}".encode()).decode() not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not any(workspaces.mirrors_dir.glob("*.git"))


async def test_missing_token_fails_instead_of_prompting(
    http_remote: tuple[str, GitHttpFake], workspaces: Workspaces
) -> None:
    url, _fake = http_remote
    started = time.monotonic()
    with pytest.raises(WorkspaceError):
        async with workspaces.checkout(url, "main", "job"):
            pass
    assert time.monotonic() - started < 30


def test_error_text_is_scrubbed_even_if_git_echoes_the_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    echo = f'echo "fatal: could not read from https://x-access-token:{TOKEN}@h/r" >&2\nexit 128'
    git_on_path(tmp_path, monkeypatch, echo)
    remote = Workspaces(tmp_path)._remote("https://h/r", TOKEN)
    with pytest.raises(WorkspaceError) as err:
        ws_mod._git(remote, ["fetch"], what="git fetch")
    assert TOKEN not in str(err.value) and "***" in str(err.value)


# ---- spare worktrees ---------------------------------------------------------------------------------


async def test_spare_worktree_makes_the_next_job_incremental(source: Path, workspaces: Workspaces) -> None:
    async with workspaces.checkout(str(source), "main", "job-1") as first:
        assert not first.prewarmed
    await workspaces.aclose()
    spare = workspaces.spare_path(first.mirror)
    assert (spare / "app/main.py").exists()
    new_head = commit(source, {"app/main.py": "print('v2')\n", "app/added.py": "y = 2\n"})
    git(source, "rm", "-q", "app/main.py")
    git(source, "commit", "-q", "-m", "drop main")
    newest = git(source, "rev-parse", "HEAD")
    async with workspaces.checkout(str(source), "main", "job-2") as second:
        assert second.prewarmed and second.base_sha == newest != new_head
        assert second.path == workspaces.worktree_path("job-2").resolve() and not spare.exists()
        assert not (second.path / "app/main.py").exists() and (second.path / "app/added.py").exists()
        assert git(second.path, "status", "--porcelain", "--untracked-files=all") == ""
        assert git(second.path, "rev-parse", "HEAD") == newest
    await workspaces.aclose()
    assert spare.exists()  # rebuilt for the job after


async def test_spares_never_carry_one_jobs_edits_to_another(source: Path, workspaces: Workspaces) -> None:
    for n in range(3):
        async with workspaces.checkout(str(source), "main", f"job-{n}") as ws:
            assert not (ws.path / "leak.txt").exists()
            assert (ws.path / "app/main.py").read_text() == "print('v1')\n"
            (ws.path / "leak.txt").write_text("agent scratch")
            (ws.path / "app/main.py").write_text("edited by the job")
        await workspaces.aclose()


async def test_one_spare_two_concurrent_jobs(source: Path, workspaces: Workspaces) -> None:
    async with workspaces.checkout(str(source), "main", "warmup"):
        pass
    await workspaces.aclose()
    head = git(source, "rev-parse", "HEAD")

    async def job(name: str) -> Workspace:
        async with workspaces.checkout(str(source), "main", name) as ws:
            assert (ws.path / "app/main.py").exists() and git(ws.path, "rev-parse", "HEAD") == head
            return ws

    a, b = await asyncio.gather(job("a"), job("b"))
    # One claims the spare; the other either checks out in full or, if the replacement spare
    # was built meanwhile, claims that one. Never both the same spare.
    assert a.prewarmed or b.prewarmed
    assert a.path != b.path


async def test_a_pool_of_spares_serves_a_burst_of_jobs(source: Path, tmp_path: Path) -> None:
    wss = Workspaces(tmp_path / "state", spares=2)
    async with wss.checkout(str(source), "main", "warmup") as ws:
        mirror = ws.mirror
    await wss.aclose()
    assert [p.exists() for p in wss.spare_paths(mirror)] == [True, True]
    claimed = asyncio.Event()

    async def job(name: str) -> Workspace:
        async with wss.checkout(str(source), "main", name) as ws:
            if claimed.is_set():
                return ws
            claimed.set()
            await asyncio.sleep(0.2)  # both jobs hold their worktrees at once, as two workers would
            return ws

    a, b = await asyncio.gather(job("a"), job("b"))
    assert a.prewarmed and b.prewarmed and a.path != b.path  # not one spare and a full checkout
    await wss.aclose()
    assert all(p.exists() for p in wss.spare_paths(mirror))  # refilled for the next burst
    wss.discard_spares()
    assert not any(p.exists() for p in wss.spare_paths(mirror))


async def test_a_job_waits_for_the_spare_being_built_rather_than_check_out_beside_it(
    source: Path, workspaces: Workspaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_build = workspaces._build_spare

    def slow_build(*args: Any) -> bool:
        time.sleep(0.5)  # a large checkout on a busy disk
        return real_build(*args)

    monkeypatch.setattr(workspaces, "_build_spare", slow_build)
    # The first job starts building the spare; the second arrives while it is being written.
    async with (workspaces.checkout(str(source), "main", "job-1") as first,
                workspaces.checkout(str(source), "main", "job-2") as second):
        assert not first.prewarmed and second.prewarmed
    await workspaces.aclose()


async def test_the_job_does_not_wait_for_its_worktree_to_be_deleted(
    source: Path, workspaces: Workspaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleting, release, deleted = threading.Event(), threading.Event(), threading.Event()
    real_rmtree = shutil.rmtree

    def slow_rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        if not Path(path).name.startswith(".trash-"):
            return real_rmtree(path, *args, **kwargs)
        deleting.set()
        release.wait(5)  # thousands of files on a busy disk
        real_rmtree(path, *args, **kwargs)
        deleted.set()

    monkeypatch.setattr(ws_mod.shutil, "rmtree", slow_rmtree)
    async with workspaces.checkout(str(source), "main", "job-1") as ws:
        path, mirror = ws.path, ws.mirror
    # Back from the block (the worker slot is free) while the files are still being deleted.
    assert not deleted.is_set()
    assert await asyncio.to_thread(deleting.wait, 5)
    assert not path.exists()
    async with workspaces.checkout(str(source), "main", "job-1") as again:  # a retry gets the path at once
        assert again.path == path and (again.path / "app/main.py").exists()
    release.set()
    await workspaces.aclose()
    assert not list(workspaces.worktrees_dir.glob(".trash-*"))
    assert str(path) not in worktree_list(mirror)


async def test_tampered_spare_is_reset_to_the_commit(source: Path, workspaces: Workspaces) -> None:
    async with workspaces.checkout(str(source), "main", "warmup") as ws:
        mirror = ws.mirror
    await workspaces.aclose()
    (workspaces.spare_path(mirror) / "app/main.py").write_text("tampered")
    async with workspaces.checkout(str(source), "main", "job") as ws:
        assert ws.prewarmed and (ws.path / "app/main.py").read_text() == "print('v1')\n"


def index_file(worktree: Path) -> Path:
    return Path((worktree / ".git").read_text().removeprefix("gitdir:").strip()) / "index"


async def test_a_spare_already_at_the_commit_is_handed_over_without_a_checkout(
    source: Path, workspaces: Workspaces
) -> None:
    async with workspaces.checkout(str(source), "main", "warmup") as ws:
        mirror = ws.mirror
    await workspaces.aclose()
    built = index_file(workspaces.spare_path(mirror)).stat()
    async with workspaces.checkout(str(source), "main", "job") as ws:
        assert ws.prewarmed
        claimed = index_file(ws.path).stat()
        # Any checkout, even a no-op one, writes a new index (a new file renamed into place).
        assert (claimed.st_ino, claimed.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)
        assert git(ws.path, "status", "--porcelain", "--untracked-files=all") == ""
        assert git(ws.path, "rev-parse", "HEAD") == git(source, "rev-parse", "HEAD")


async def test_a_spare_is_not_left_racily_clean(
    source: Path, workspaces: Workspaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_mod, "SETTLE_MIN_INDEX_BYTES", 0)  # as for a large repository
    async with workspaces.checkout(str(source), "main", "warmup") as ws:
        mirror = ws.mirror
    await workspaces.aclose()
    spare = workspaces.spare_path(mirror)
    # git trusts a file's stat data only if the file is older than the index, to the second;
    # otherwise every command that reads the index re-reads and hashes the file.
    newest = max(p.lstat().st_mtime for p in spare.rglob("*") if p.name != ".git")
    assert math.floor(index_file(spare).stat().st_mtime) > math.floor(newest)


async def test_prewarm_off_and_discard_spares(source: Path, tmp_path: Path) -> None:
    cold = Workspaces(tmp_path / "cold", prewarm=False)
    async with cold.checkout(str(source), "main", "job") as ws:
        pass
    await cold.aclose()
    assert not cold.spare_path(ws.mirror).exists()
    warm = Workspaces(tmp_path / "warm")
    async with warm.checkout(str(source), "main", "job") as ws:
        pass
    await warm.aclose()
    assert warm.spare_path(ws.mirror).exists()
    warm.discard_spares()
    assert not warm.spare_path(ws.mirror).exists()
    assert worktree_list(ws.mirror).count("worktree ") == 1


# ---- resolve, then pin -----------------------------------------------------------------------------


async def test_resolve_names_the_commit_without_a_worktree(
    two_commit_repo: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, old, new = two_commit_repo
    wss = CountingWorkspaces(tmp_path / "state")
    assert await wss.resolve(str(repo), "main") == Resolved(sha=new, target="branch", branch="main")
    pinned = await wss.resolve(str(repo), "main", release=f"backend@{old[:10]}")
    assert (pinned.sha, pinned.target, pinned.release_ref) == (old, "release", old[:10])
    assert not wss.worktrees_dir.exists() or not any(wss.worktrees_dir.iterdir())
    syncs = wss.syncs
    # A later checkout pinned to a commit the mirror already has does not touch the network.
    async with wss.checkout(str(repo), "main", "job", commit=pinned.sha) as ws:
        assert ws.base_sha == old and ws.target == "commit"
    await wss.aclose()
    assert wss.syncs == syncs
    mirror = await wss.prefetch(str(repo))
    assert mirror == wss.mirror_path(str(repo)) and wss.syncs == syncs + 1


async def test_sweep_removes_what_killed_processes_left_behind(source: Path, workspaces: Workspaces) -> None:
    async with workspaces.checkout(str(source), "main", "sentry:acme:1") as ws:
        job_tree = ws.path
    await workspaces.aclose()  # let the background spare build finish: it is live work, not litter
    child = subprocess.Popen(["true"])  # a reaped child's pid: a session that is gone
    child.wait()
    leftovers = {
        "sentry_acme_2": "job", f"mcp-{child.pid}-123": "dead session", f"mcp-{os.getpid()}-456": "live session",
        ".building-x-1": "spare build", ".trash-abc": "deletion",
    }
    for name in leftovers:
        (workspaces.worktrees_dir / name).mkdir(parents=True)
    assert not job_tree.exists()
    removed = workspaces.sweep(jobs=False)
    assert removed == [f"mcp-{child.pid}-123"]  # an MCP session leaves the service's work alone
    removed = workspaces.sweep(jobs=True)
    assert set(removed) == {"sentry_acme_2", ".building-x-1", ".trash-abc"}
    assert (workspaces.worktrees_dir / f"mcp-{os.getpid()}-456").exists()
