"""read_file, search_repo, list_files and the path confinement under them, on real git repos."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.base import ToolContext, ToolError
from tools.files import list_files, read_file, search_repo
from tools.patch import propose_patch
from tools.paths import resolve_in_worktree
from tools.registry import Registry, call_tool

TOOLS = Registry([read_file, search_repo, list_files])


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    cfg = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    proc = subprocess.run(["git", *cfg, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return proc.stdout


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


async def call(ctx: ToolContext, name: str, **args: object) -> tuple[str, bool]:
    out = await call_tool(TOOLS, ctx, name, args)
    return out.text, out.is_error


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "src/app/models.py": "class User:\n    def user_id(self):\n        return 1\n",
            "src/app/views.py": "from app.models import User\n\ndef account_id(u):\n    return u.user_id()\n",
            "big.txt": "".join(f"line {i}\n" for i in range(1, 1001)),
            "README.md": "# demo\nSee --version for details.\n",
            ".gitignore": "build/\n*.log\n",
            "weird name: file.txt": "needle here\n",
        },
    )


@pytest.fixture
def ctx(repo: Path) -> ToolContext:
    return ToolContext(worktree=repo)


# ------------------------------------------------------------------ path confinement


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("../../etc/passwd", "'..' is not allowed"),
        ("src/../../outside", "'..' is not allowed"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("..\\..\\etc\\passwd", "'..' is not allowed"),
        ("C:\\Windows\\win.ini", "absolute paths are not allowed"),
        (".git/config", "git metadata"),
        ("./.git/config", "git metadata"),
        ("src/.GIT/HEAD", "git metadata"),
        ("src/app\x00.py", "NUL byte"),
    ],
)
async def test_read_file_refuses_paths_outside_the_worktree(ctx: ToolContext, path: str, fragment: str) -> None:
    text, is_error = await call(ctx, "read_file", path=path)
    assert is_error
    assert fragment in text
    assert "root:" not in text  # nothing of /etc/passwd leaked


async def test_symlink_to_root_is_refused(ctx: ToolContext, repo: Path) -> None:
    (repo / "rootlink").symlink_to("/")
    for path in ("rootlink/etc/passwd", "rootlink", "rootlink/"):
        text, is_error = await call(ctx, "read_file", path=path)
        assert is_error and "outside the repository" in text, path
    text, is_error = await call(ctx, "list_files", path="rootlink")
    assert is_error and "outside the repository" in text


async def test_symlink_to_outside_file_and_through_outside_dir_is_refused(
    ctx: ToolContext, repo: Path, tmp_path: Path
) -> None:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("TOP SECRET\n")
    (repo / "src" / "leak.txt").symlink_to(secret_dir / "secret.txt")
    (repo / "linkdir").symlink_to(secret_dir)
    for path in ("src/leak.txt", "linkdir/secret.txt"):
        text, is_error = await call(ctx, "read_file", path=path)
        assert is_error and "outside the repository" in text
        assert "TOP SECRET" not in text


async def test_symlink_into_git_dir_is_refused(ctx: ToolContext, repo: Path) -> None:
    (repo / "cfg").symlink_to(repo / ".git" / "config")
    text, is_error = await call(ctx, "read_file", path="cfg")
    assert is_error and "git metadata" in text


async def test_symlink_inside_the_worktree_is_followed(ctx: ToolContext, repo: Path) -> None:
    (repo / "alias.py").symlink_to("src/app/models.py")
    text, is_error = await call(ctx, "read_file", path="alias.py")
    assert not is_error
    assert "class User:" in text


def test_resolve_accepts_dot_slash_and_trailing_slash(repo: Path) -> None:
    assert resolve_in_worktree(repo, "./src/app/") == (repo / "src/app").resolve()
    assert resolve_in_worktree(repo, "src//app/./models.py") == (repo / "src/app/models.py").resolve()
    assert resolve_in_worktree(repo, "") == repo.resolve()
    assert resolve_in_worktree(repo, "new/dir/file.py", must_exist=False) == (repo / "new/dir/file.py").resolve()
    with pytest.raises(ToolError, match="no such file"):
        resolve_in_worktree(repo, "nope.py")


# ------------------------------------------------------------------ read_file


async def test_read_file_bounds_to_400_lines_with_continuation(ctx: ToolContext) -> None:
    text, is_error = await call(ctx, "read_file", path="big.txt")
    assert not is_error
    numbered = [ln for ln in text.splitlines() if "| line " in ln]
    assert len(numbered) == 400
    assert numbered[0] == "   1| line 1"
    assert numbered[-1] == " 400| line 400"
    assert "lines 1-400 of 1,000; call read_file with start_line=401 to continue" in text

    text, _ = await call(ctx, "read_file", path="big.txt", start_line=401)
    assert " 401| line 401" in text and " 800| line 800" in text and " 801|" not in text
    assert "start_line=801" in text

    text, _ = await call(ctx, "read_file", path="big.txt", start_line=990)
    assert "1000| line 1000" in text and "end of file: 1,000 lines" in text


async def test_read_file_clamps_bad_ranges_with_a_note(ctx: ToolContext) -> None:
    text, is_error = await call(ctx, "read_file", path="big.txt", start_line=0, end_line=3)
    assert not is_error
    assert "start_line 0 is before the first line" in text
    assert "   3| line 3" in text and "   4|" not in text

    text, _ = await call(ctx, "read_file", path="big.txt", start_line=5000)
    assert "past the end of the file (1,000 lines)" in text
    assert "1000| line 1000" in text and " 601| line 601" in text and " 600|" not in text

    text, _ = await call(ctx, "read_file", path="big.txt", start_line=10, end_line=5)
    assert "end_line 5 is before start_line 10" in text and "  10| line 10" in text

    text, _ = await call(ctx, "read_file", path="big.txt", start_line=1, end_line=900)
    assert "at most 400 lines" in text and "start_line=401" in text


async def test_read_file_truncates_long_lines(ctx: ToolContext, repo: Path) -> None:
    (repo / "min.js").write_text("x" * 2000 + "\nshort\n")
    text, _ = await call(ctx, "read_file", path="min.js")
    first = text.splitlines()[1]
    assert first.startswith("   1| " + "x" * 500) and "1,500 more characters" in first
    assert "   2| short" in text


async def test_read_file_refuses_huge_and_binary_files(ctx: ToolContext, repo: Path) -> None:
    (repo / "huge.txt").write_bytes(b"a" * (10 * 1024 * 1024))
    text, is_error = await call(ctx, "read_file", path="huge.txt")
    assert is_error
    assert "huge.txt is 10.0 MB, too large to read" in text and "use search_repo" in text

    (repo / "blob.dat").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    text, is_error = await call(ctx, "read_file", path="blob.dat")
    assert is_error and "binary file" in text


async def test_read_file_on_directory_and_missing_file(ctx: ToolContext) -> None:
    text, is_error = await call(ctx, "read_file", path="src/app")
    assert is_error and "is a directory; use list_files" in text
    text, is_error = await call(ctx, "read_file", path="src/app/nope.py")
    assert is_error and "no such file" in text


async def test_read_file_empty_and_crlf(ctx: ToolContext, repo: Path) -> None:
    (repo / "empty.py").write_text("")
    text, _ = await call(ctx, "read_file", path="empty.py")
    assert "empty (0 lines)" in text
    (repo / "win.txt").write_bytes(b"one\r\ntwo\r\n")
    text, _ = await call(ctx, "read_file", path="win.txt")
    assert "   1| one\n   2| two\n" in text


# ------------------------------------------------------------------ search_repo


async def test_search_finds_tracked_files_and_the_files_the_edits_created(ctx: ToolContext, repo: Path) -> None:
    # As `git grep` searches by default: tracked files, plus what propose_patch created (untracked);
    # not every untracked file (walking the worktree for them doubled the cost of each search).
    out = await call_tool(Registry([search_repo, propose_patch]), ctx, "propose_patch", {"changes": [
        {"file": "src/new_module.py", "original": "", "modified": "x = User()\n"},
        {"file": "a_first.py", "original": "", "modified": "User = 1\n"},
    ]})
    assert not out.is_error, out.text
    (repo / "build").mkdir()
    (repo / "build/out.py").write_text("User\n")  # ignored
    (repo / "debug.log").write_text("User\n")  # ignored
    (repo / "scratch.py").write_text("User\n")  # untracked, not ours: left out, as git grep does
    text, is_error = await call(ctx, "search_repo", query="User")
    assert not is_error
    assert text.splitlines()[1:] == [  # one path order across tracked and created files
        "a_first.py:1: User = 1",
        "src/app/models.py:1: class User:",
        "src/app/views.py:1: from app.models import User",
        "src/new_module.py:1: x = User()",
    ]
    assert text.startswith("4 matches")
    text, _ = await call(ctx, "search_repo", query="User", path_glob="src/*.py")
    assert text.splitlines() == ["1 match for text 'User' in 'src/*.py':", "src/new_module.py:1: x = User()"]
    text, _ = await call(ctx, "search_repo", query="User", max_results=1)
    assert text.splitlines() == ["1 of 4 matches shown for text 'User' (in path order). "
                                 "Narrow the query or use path_glob to see the others.", "a_first.py:1: User = 1"]


async def test_search_bounds_results_and_counts_the_cut(ctx: ToolContext, repo: Path) -> None:
    (repo / "many.py").write_text("".join(f"hit_{i} = {i}\n" for i in range(60)))
    git(repo, "add", "many.py")  # searched as a tracked file
    text, _ = await call(ctx, "search_repo", query="hit_")
    lines = [ln for ln in text.splitlines() if ln.startswith("many.py:")]
    assert len(lines) == 50
    assert lines[0] == "many.py:1: hit_0 = 0" and lines[-1] == "many.py:50: hit_49 = 49"
    assert text.startswith("50 of 60 matches shown")

    text, _ = await call(ctx, "search_repo", query="hit_", max_results=5)
    assert text.startswith("5 of 60 matches shown")


async def test_search_caps_max_results_at_200(ctx: ToolContext, repo: Path) -> None:
    (repo / "lots.txt").write_text("tok\n" * 1234)
    git(repo, "add", "lots.txt")  # searched as a tracked file
    text, _ = await call(ctx, "search_repo", query="tok", max_results=1000)
    assert text.startswith("200 of 1,234 matches shown")
    assert "capped at 200" in text
    assert sum(1 for ln in text.splitlines() if ln.startswith("lots.txt:")) == 200


async def test_search_large_output_counts_every_match(ctx: ToolContext, repo: Path) -> None:
    # Enough output to span many pipe reads: the count past the cut must still be exact.
    (repo / "gen.txt").write_text("".join(f"needle {'x' * 80} {i}\n" for i in range(30_000)))
    git(repo, "add", "gen.txt")  # searched as a tracked file
    text, _ = await call(ctx, "search_repo", query="needle", path_glob="gen.txt")
    assert text.startswith("50 of 30,000 matches shown")


async def test_search_regex_and_invalid_regex(ctx: ToolContext) -> None:
    text, is_error = await call(ctx, "search_repo", query=r"def \w+_id\(", regex=True)
    assert not is_error
    assert "src/app/models.py:2:     def user_id(self):" in text
    assert "src/app/views.py:3: def account_id(u):" in text

    text, is_error = await call(ctx, "search_repo", query="def account_id(", regex=True)
    assert is_error and "invalid regular expression" in text

    # The same text as a literal is fine.
    text, is_error = await call(ctx, "search_repo", query="def account_id(")
    assert not is_error and "src/app/views.py:3:" in text


async def test_search_query_starting_with_dash_is_not_an_option(ctx: ToolContext) -> None:
    text, is_error = await call(ctx, "search_repo", query="--version")
    assert not is_error
    assert "README.md:2: See --version for details." in text
    text, is_error = await call(ctx, "search_repo", query="-e", regex=True)
    assert not is_error and "No matches" in text


async def test_search_path_glob_filters(ctx: ToolContext, repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs/user.md").write_text("User guide\n")
    git(repo, "add", "docs/user.md")
    text, _ = await call(ctx, "search_repo", query="User", path_glob="*.py")
    assert "src/app/models.py" in text and "docs/user.md" not in text
    text, _ = await call(ctx, "search_repo", query="User", path_glob="src/**/views.py")
    assert "src/app/views.py" in text and "models.py" not in text
    text, _ = await call(ctx, "search_repo", query="User", path_glob="docs")
    assert "docs/user.md:1: User guide" in text and "src/" not in text
    text, _ = await call(ctx, "search_repo", query="User", path_glob="./docs/")
    assert "docs/user.md" in text
    text, is_error = await call(ctx, "search_repo", query="User", path_glob="../elsewhere")
    assert is_error and "'..' is not allowed" in text


async def test_search_odd_file_names_and_no_match(ctx: ToolContext) -> None:
    text, _ = await call(ctx, "search_repo", query="needle here")
    assert "weird name: file.txt:1: needle here" in text
    text, is_error = await call(ctx, "search_repo", query="definitely-not-present-anywhere")
    assert not is_error and text.startswith("No matches")
    text, is_error = await call(ctx, "search_repo", query="a\nb")
    assert is_error and "single line" in text


async def test_search_does_not_follow_symlinks_out_of_the_worktree(
    ctx: ToolContext, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP_SECRET_VALUE\n")
    (repo / "file_link").symlink_to(outside / "secret.txt")
    (repo / "dir_link").symlink_to(outside)
    git(repo, "add", "file_link", "dir_link")  # tracked, so searched if git followed them
    text, _ = await call(ctx, "search_repo", query="TOP_SECRET_VALUE")
    assert text.startswith("No matches")


async def test_search_does_not_look_inside_git_dir(ctx: ToolContext) -> None:
    # .git/HEAD contains "refs/heads/main"; a search must only see working-tree files.
    text, _ = await call(ctx, "search_repo", query="refs/heads/main")
    assert text.startswith("No matches")


# ------------------------------------------------------------------ list_files


async def test_list_files_root_marks_directories(ctx: ToolContext, repo: Path) -> None:
    (repo / "untracked.py").write_text("")
    (repo / "build").mkdir()
    (repo / "build/x.py").write_text("")
    text, is_error = await call(ctx, "list_files")
    assert not is_error
    lines = text.splitlines()
    assert "src/ (2 files)" in lines
    assert "big.txt" in lines and "untracked.py" in lines and ".gitignore" in lines
    assert not any(ln.startswith("build") for ln in lines)
    assert not any(ln.startswith(".git/") for ln in lines)


async def test_list_files_subdirectory_and_glob(ctx: ToolContext) -> None:
    text, _ = await call(ctx, "list_files", path="./src/app/")
    assert "src/app/models.py" in text and "src/app/views.py" in text
    text, _ = await call(ctx, "list_files", glob="*.py")
    assert text.splitlines()[1:] == ["src/app/models.py", "src/app/views.py"]
    text, _ = await call(ctx, "list_files", path="src", glob="app/m*.py")
    assert text.splitlines()[1:] == ["src/app/models.py"]
    text, _ = await call(ctx, "list_files", glob="*.rs")
    assert "No files" in text


async def test_list_files_is_bounded(ctx: ToolContext, repo: Path) -> None:
    (repo / "gen").mkdir()
    for i in range(350):
        (repo / f"gen/f{i:03}.txt").write_text("")
    text, _ = await call(ctx, "list_files", path="gen")
    assert sum(1 for ln in text.splitlines() if ln.startswith("gen/f")) == 300
    assert "300 of 350 entries shown; 50 cut" in text


async def test_list_files_refusals(ctx: ToolContext) -> None:
    for path, fragment in [("..", "'..' is not allowed"), (".git", "git metadata"), ("/", "absolute")]:
        text, is_error = await call(ctx, "list_files", path=path)
        assert is_error and fragment in text
    text, is_error = await call(ctx, "list_files", path="README.md")
    assert is_error and "use read_file" in text


# ------------------------------------------------------------------ call_tool contract


async def test_call_tool_turns_malformed_arguments_into_error_text(ctx: ToolContext) -> None:
    out = await call_tool(TOOLS, ctx, "read_file", {})
    assert out.is_error and "Invalid arguments for read_file" in out.text and "path" in out.text
    out = await call_tool(TOOLS, ctx, "read_file", {"path": "README.md", "start_line": "first"})
    assert out.is_error and "start_line" in out.text
    out = await call_tool(TOOLS, ctx, "search_repo", {"query": "x", "bogus": 1})
    assert out.is_error and "bogus" in out.text
    out = await call_tool(TOOLS, ctx, "search_repo", "not an object")
    assert out.is_error and "JSON object" in out.text
    out = await call_tool(TOOLS, ctx, "rm_rf", {})
    assert out.is_error and "Unknown tool" in out.text


async def test_search_timeout_stops_git_and_reports_partial(repo: Path) -> None:
    from tools.files import git_grep

    res = await git_grep(repo, "line", regex=False, pathspecs=[], keep=5, timeout=0)
    assert res.timed_out
