"""common.git, the one hardened git runner: environment, options, tokens, timeouts, errors."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

from common.git import Git, GitError, Remote, literal
from tests.test_workspace import TOKEN, commit, git_on_path, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    make_repo(path, {"a.py": "x = 1\n"})
    return path


def test_inherited_git_variables_cannot_redirect_git(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    make_repo(other, {"b.py": "y = 1\n"})
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "index"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.hooksPath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(tmp_path / "evil-hooks"))
    monkeypatch.setenv("GIT_SSH_COMMAND", "touch /tmp/pwned")
    monkeypatch.setenv("GIT_SSL_CAINFO", "/etc/ssl/forge-ca.pem")

    runner = Git(cwd=repo)
    assert runner.run("ls-files").text.split() == ["a.py"]
    env = runner.env()
    assert not {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0",
                "GIT_SSH_COMMAND"} & env.keys()
    assert env["GIT_SSL_CAINFO"] == "/etc/ssl/forge-ca.pem"  # a trust anchor, kept
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_ASKPASS"] == "" and env["SSH_ASKPASS"] == ""
    assert env["GIT_OPTIONAL_LOCKS"] == "0" and env["LC_ALL"] == "C"


def test_hardened_options_and_file_protocol_only_for_local_remotes(tmp_path: Path) -> None:
    argv = Git(config=("user.name=x",)).argv("status")
    for setting in ("core.hooksPath=/dev/null", "core.fsmonitor=false", "core.quotePath=false", "diff.external=",
                    "color.ui=never", "commit.gpgsign=false", "submodule.recurse=false", "user.name=x"):
        assert argv[argv.index(setting) - 1] == "-c"
    assert argv[-1] == "status" and "protocol.file.allow=always" not in argv
    assert "protocol.file.allow=always" in Git(remote=Remote.of(str(tmp_path))).argv("fetch")
    assert "protocol.file.allow=always" not in Git(remote=Remote.of("https://h/r.git")).argv("fetch")


def test_token_travels_in_the_environment_only() -> None:
    runner = Git(remote=Remote.of(f"https://x-access-token:{TOKEN}@forge.example/o/r.git"))
    assert runner.remote is not None and runner.remote.url == "https://forge.example/o/r.git"
    assert TOKEN not in " ".join(runner.argv("fetch", runner.remote.url))
    env = runner.env()
    assert env["GIT_CONFIG_KEY_0"] == "http.https://forge.example/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ") and env["GIT_CONFIG_VALUE_1"] == ""


def test_errors_carry_the_command_and_scrubbed_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_on_path(tmp_path, monkeypatch, f'echo "fatal: cannot reach https://x-access-token:{TOKEN}@h/r" >&2\nexit 128')
    with pytest.raises(GitError) as err:
        Git(remote=Remote.of("https://h/r", TOKEN)).run("fetch", "origin")
    exc = err.value
    assert exc.command == "fetch" and exc.returncode == 128 and not exc.timed_out
    assert TOKEN not in str(exc) and TOKEN not in exc.stderr and "***" in exc.summary
    assert str(pickle.loads(pickle.dumps(exc))) == str(exc)


def test_ok_returns_other_exit_statuses(repo: Path) -> None:
    result = Git(cwd=repo).run("diff", "--quiet", "HEAD", ok=None)
    assert result.returncode == 0
    (repo / "a.py").write_text("x = 2\n")
    assert Git(cwd=repo).run("diff", "--quiet", "HEAD", ok=(0, 1)).returncode == 1


def test_hooks_never_run(repo: Path) -> None:
    marker = repo.parent / "hook-ran"
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    (repo / "a.py").write_text("x = 3\n")
    runner = Git(cwd=repo, config=("user.name=T", "user.email=t@example.com"))
    runner.run("commit", "-q", "-a", "-F", "-", input=b"change\n")
    assert not marker.exists()
    assert runner.run("log", "-1", "--format=%s").text.strip() == "change"


def test_literal_pathspec_is_just_a_file_name(repo: Path) -> None:
    (repo / "b.py").write_text("z = 1\n")
    (repo / "*.py").write_text("star\n")
    runner = Git(cwd=repo)
    runner.run("add", "--", literal("*.py"))
    staged = runner.run("diff", "--cached", "--name-only", "-z").text.split("\0")
    assert [p for p in staged if p] == ["*.py"]


def _slow_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git whose child (think git-remote-http) writes its pid and sleeps."""
    pid_file = tmp_path / "child.pid"
    git_on_path(tmp_path, monkeypatch, f"sleep 30 &\necho $! > {pid_file}\nwait")
    return pid_file


def _gone(pid_file: Path) -> bool:
    deadline = time.monotonic() + 5
    pid = int(pid_file.read_text())
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z":
            return True  # killed, waiting for its (init) parent to reap it
        time.sleep(0.05)
    return False


def test_timeout_kills_the_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = _slow_git(tmp_path, monkeypatch)
    started = time.monotonic()
    with pytest.raises(GitError, match=r"git fetch timed out after 0\.5s and was stopped") as err:
        Git(cwd=tmp_path).run("fetch", timeout=0.5)
    assert err.value.timed_out and err.value.returncode is None
    assert time.monotonic() - started < 10 and _gone(pid_file)


async def test_async_timeout_kills_the_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = _slow_git(tmp_path, monkeypatch)
    started = time.monotonic()
    with pytest.raises(GitError, match="timed out") as err:
        await Git(cwd=tmp_path).arun("push", timeout=0.5)
    assert err.value.command == "push" and time.monotonic() - started < 10 and _gone(pid_file)


async def test_async_run_and_missing_git(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sha = commit(repo, {"c.py": "c = 1\n"})
    assert (await Git(cwd=repo).arun("rev-parse", "HEAD")).text.strip() == sha
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GitError, match="git is not installed or not on PATH"):
        await Git(cwd=repo).arun("status")
    with pytest.raises(GitError, match="git is not installed or not on PATH"):
        Git(cwd=repo).run("status")
