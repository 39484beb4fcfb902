"""propose_patch, submit_fix, the patch policy, replay and the tool registry, on real git repos."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.anthropic_provider import tool_params
from domain import FileChange
from tests.test_tools_files import git, make_repo
from tools.base import ToolContext, ToolSpec
from tools.patch import apply_changes, propose_patch, submit_fix, worktree_diff
from tools.policy import DEFAULT_POLICY, PatchPolicy, glob_match
from tools.registry import WORKTREE_TOOLS, Registry, call_tool

TOOLS = Registry([propose_patch, submit_fix])

SERVICE_PY = '''\
class UserService:
    def find(self, user_id):
        user = self.repo.get(user_id)
        return user.name

    def find_all(self):
        return [u.name for u in self.repo.all()]


def helper():
    return None
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "app/service.py": SERVICE_PY,
            "app/dup.py": "x = 1\ny = 2\nx = 1\n",
            "app/settings.json": '{"debug": false}\n',
            "legacy/py2.py": "print 'hello'\n",
            "win/crlf.py": "a = 1\r\nb = 2\r\n",
            ".github/workflows/ci.yml": "on: push\n",
            "package-lock.json": "{}\n",
            ".env": "SECRET=1\n",
            "README.md": "# demo\n",
        },
    )


@pytest.fixture
def ctx(repo: Path) -> ToolContext:
    return ToolContext(worktree=repo)


def change(file: str, original: str, modified: str, description: str = "") -> dict[str, str]:
    return {"file": file, "original": original, "modified": modified, "description": description}


async def patch(ctx: ToolContext, *changes: dict[str, str]) -> tuple[str, bool]:
    out = await call_tool(TOOLS, ctx, "propose_patch", {"changes": list(changes)})
    return out.text, out.is_error


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain")


# ------------------------------------------------------------------ applying edits


async def test_exact_edit_returns_diff_and_records_change(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(
        ctx,
        change(
            "app/service.py",
            "        user = self.repo.get(user_id)\n        return user.name\n",
            "        user = self.repo.get(user_id)\n        if user is None:\n            return None\n"
            "        return user.name\n",
            "guard against missing users",
        ),
    )
    assert not is_error, text
    assert "app/service.py: exact match at line 3" in text
    assert "diff --git a/app/service.py b/app/service.py" in text
    assert "+        if user is None:" in text
    assert "if user is None:" in (repo / "app/service.py").read_text()
    assert [c.file for c in ctx.applied] == ["app/service.py"]
    assert ctx.applied[0].description == "guard against missing users"


async def test_ambiguous_original_lists_every_line(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("app/dup.py", "x = 1\n", "x = 3\n"))
    assert is_error
    assert "appears 2 times in app/dup.py" in text and "lines 1, 3" in text
    assert "No changes from this call were applied" in text
    assert (repo / "app/dup.py").read_text() == "x = 1\ny = 2\nx = 1\n"
    assert ctx.applied == []


async def test_ambiguous_whitespace_tolerant_match(ctx: ToolContext, repo: Path) -> None:
    (repo / "app/two.py").write_text("def a():\n    pass\n\n\nclass B:\n    def a():\n        pass\n")
    text, is_error = await patch(ctx, change("app/two.py", "def a():\n  pass", "def a():\n  return 1"))
    assert is_error and "2 times" in text and "ignoring whitespace" in text and "lines 1, 6" in text


async def test_missing_original_shows_closest_lines(ctx: ToolContext) -> None:
    text, is_error = await patch(
        ctx, change("app/service.py", "        user = self.repo.fetch(user_id)\n        return user.name\n", "x")
    )
    assert is_error
    assert "original text not found in app/service.py" in text
    assert "Closest lines 2-5" in text
    assert "   3|         user = self.repo.get(user_id)" in text
    assert "   4|         return user.name" in text


async def test_missing_original_with_nothing_similar(ctx: ToolContext) -> None:
    text, is_error = await patch(ctx, change("app/service.py", "zzzz qqqq wwww", "x"))
    assert is_error and "No similar lines found" in text


async def test_whitespace_tolerant_match_reindents(ctx: ToolContext, repo: Path) -> None:
    # The model dropped the method's indentation and left trailing spaces.
    original = "def find_all(self):   \n    return [u.name for u in self.repo.all()]  \n"
    modified = "def find_all(self):\n    users = self.repo.all() or []\n    return [u.name for u in users]\n"
    text, is_error = await patch(ctx, change("app/service.py", original, modified))
    assert not is_error, text
    assert "whitespace-tolerant match at lines 6-7" in text and "re-indented" in text
    content = (repo / "app/service.py").read_text()
    assert (
        "    def find_all(self):\n        users = self.repo.all() or []\n        return [u.name for u in users]\n"
        "\n\ndef helper"
    ) in content


async def test_whitespace_tolerant_match_over_indented(ctx: ToolContext, repo: Path) -> None:
    original = "            def helper():\n                return None"
    modified = "            def helper():\n                return 0"
    text, is_error = await patch(ctx, change("app/service.py", original, modified))
    assert not is_error, text
    assert (repo / "app/service.py").read_text().endswith("\n\ndef helper():\n    return 0\n")


async def test_python_syntax_error_is_refused(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("app/service.py", "    def find_all(self):", "    def find_all(self:"))
    assert is_error
    assert "app/service.py would no longer parse" in text and "line 6" in text
    assert "   6|     def find_all(self:" in text
    assert (repo / "app/service.py").read_text() == SERVICE_PY


async def test_json_syntax_error_is_refused(ctx: ToolContext) -> None:
    text, is_error = await patch(ctx, change("app/settings.json", '"debug": false', '"debug": false,'))
    assert is_error and "would no longer parse" in text


async def test_file_that_never_parsed_stays_editable(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("legacy/py2.py", "print 'hello'", "print 'bye'"))
    assert not is_error, text
    assert (repo / "legacy/py2.py").read_text() == "print 'bye'\n"


async def test_new_file_creation_and_refusal_when_it_exists(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("app/util/guards.py", "", "def require(x):\n    return x\n"))
    assert not is_error, text
    assert (repo / "app/util/guards.py").read_text() == "def require(x):\n    return x\n"
    assert "new file mode 100644" in text and "+++ b/app/util/guards.py" in text

    text, is_error = await patch(ctx, change("app/service.py", "", "oops\n"))
    assert is_error and "already exists" in text

    text, is_error = await patch(ctx, change("app/nope.py", "something", "else"))
    assert is_error and "no such file" in text and "leave 'original' empty" in text

    text, is_error = await patch(ctx, change("app/bad_new.py", "", "def (:\n"))
    assert is_error and "would no longer parse" in text
    assert not (repo / "app/bad_new.py").exists()


async def test_empty_new_file_is_allowed(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("app/pkg/__init__.py", "", ""))
    assert not is_error, text
    assert (repo / "app/pkg/__init__.py").read_text() == ""


async def test_diffs_are_cumulative_across_calls(ctx: ToolContext, repo: Path) -> None:
    text1, err1 = await patch(
        ctx, change("app/service.py", "def helper():\n    return None", "def helper():\n    return 0")
    )
    text2, err2 = await patch(ctx, change("README.md", "# demo\n", "# demo app\n"))
    assert not err1 and not err2
    assert "README.md" not in text1
    assert "diff --git a/README.md b/README.md" in text2
    assert "diff --git a/app/service.py b/app/service.py" in text2
    assert "+    return 0" in text2 and "+# demo app" in text2
    assert "(2 file(s))" in text2
    # A later edit sees the earlier one.
    text3, err3 = await patch(ctx, change("app/service.py", "    return 0", "    return -1"))
    assert not err3, text3
    assert "+    return -1" in text3 and "return 0" not in text3.split("versus the base commit:")[1]
    assert [c.file for c in ctx.applied] == ["app/service.py", "README.md", "app/service.py"]


async def test_batch_is_atomic(ctx: ToolContext, repo: Path) -> None:
    before = status(repo)
    text, is_error = await patch(
        ctx,
        change("README.md", "# demo\n", "# changed\n"),
        change("app/new.py", "", "x = 1\n"),
        change("app/service.py", "this is not in the file", "x"),
    )
    assert is_error
    assert "change 3 of 3 (app/service.py)" in text and "No changes from this call were applied" in text
    assert (repo / "README.md").read_text() == "# demo\n"
    assert not (repo / "app/new.py").exists()
    assert status(repo) == before
    assert ctx.applied == []


async def test_several_edits_to_one_file_in_one_call_compose(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(
        ctx,
        change("app/dup.py", "x = 1\ny = 2\n", "x = 10\ny = 2\n"),
        change("app/dup.py", "y = 2\nx = 1\n", "y = 2\nx = 30\n"),
    )
    assert not is_error, text
    assert (repo / "app/dup.py").read_text() == "x = 10\ny = 2\nx = 30\n"


async def test_deleting_lines_and_crlf_files(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("win/crlf.py", "a = 1\nb = 2\n", "a = 1\nb = 3\n"))
    assert not is_error, text
    assert (repo / "win/crlf.py").read_bytes() == b"a = 1\r\nb = 3\r\n"
    text, is_error = await patch(ctx, change("app/dup.py", "y = 2\n", ""))
    assert not is_error, text
    assert (repo / "app/dup.py").read_text() == "x = 1\nx = 1\n"


async def test_identical_original_and_modified_is_an_error(ctx: ToolContext) -> None:
    text, is_error = await patch(ctx, change("README.md", "# demo", "# demo"))
    assert is_error and "identical" in text


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "path, fragment",
    [
        (".github/workflows/ci.yml", "CI/CD configuration"),
        ("package-lock.json", "lock file"),
        (".env", "secrets"),
        ("config/.env.production", "secrets"),
        ("deploy/id_rsa", "secrets"),
        (".gitmodules", "git metadata"),
        (".github/CODEOWNERS", "governance"),
        ("static/logo.png", "binary"),
    ],
)
async def test_policy_refusals(ctx: ToolContext, repo: Path, path: str, fragment: str) -> None:
    text, is_error = await patch(ctx, change(path, "", "anything\n"))
    if (repo / path).exists():
        text, is_error = await patch(ctx, change(path, (repo / path).read_text(), "anything\n"))
    assert is_error
    assert "refused by the patch policy" in text and fragment in text
    assert ctx.applied == []


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("../outside.py", "'..' is not allowed"),
        ("/etc/passwd", "absolute paths"),
        (".git/config", "git metadata"),
        (".git/hooks/pre-commit", "git metadata"),
        ("app/\x00.py", "NUL byte"),
    ],
)
async def test_path_refusals(ctx: ToolContext, path: str, fragment: str) -> None:
    text, is_error = await patch(ctx, change(path, "", "x\n"))
    assert is_error and fragment in text


async def test_symlink_to_denied_or_outside_file_is_refused(ctx: ToolContext, repo: Path, tmp_path: Path) -> None:
    (repo / "innocent.yml").symlink_to(".github/workflows/ci.yml")
    text, is_error = await patch(ctx, change("innocent.yml", "on: push", "on: pull_request"))
    assert is_error and "CI/CD configuration" in text
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    (repo / "escape.py").symlink_to(outside)
    text, is_error = await patch(ctx, change("escape.py", "x = 1", "x = 2"))
    assert is_error and "outside the repository" in text
    (repo / "dirlink").symlink_to(tmp_path)
    text, is_error = await patch(ctx, change("dirlink/planted.py", "", "x = 1\n"))
    assert is_error and "outside the repository" in text
    assert outside.read_text() == "x = 1\n" and not (tmp_path / "planted.py").exists()


async def test_an_edit_through_a_symlink_is_recorded_at_the_real_path(ctx: ToolContext, repo: Path) -> None:
    (repo / "alias.py").symlink_to("app/service.py")
    (repo / "applink").symlink_to("app")
    _, is_error = await patch(ctx, change("alias.py", "def helper():", "def helper() -> None:"))
    assert not is_error
    _, is_error = await patch(ctx, change("applink/service.py", "return None", "return"))
    assert not is_error
    # Git commits files, not the links that led to them: both edits belong to app/service.py.
    assert [c.file for c in ctx.applied] == ["app/service.py", "app/service.py"]
    git(repo, "add", "-A", "--", *{c.file for c in ctx.applied})
    assert "app/service.py" in git(repo, "diff", "--cached", "--name-only")


async def test_binary_and_huge_files_are_refused(ctx: ToolContext, repo: Path) -> None:
    (repo / "data.txt").write_bytes(b"abc\x00def\n")
    text, is_error = await patch(ctx, change("data.txt", "abc", "xyz"))
    assert is_error and "binary file" in text
    text, is_error = await patch(ctx, change("app/nul.py", "", "x = '\x00'\n"))
    assert is_error and "NUL byte" in text


async def test_project_policy_from_context(ctx: ToolContext, repo: Path) -> None:
    assert ctx.policy is DEFAULT_POLICY
    ctx.policy = PatchPolicy(deny=["app/**"], allow=["package-lock.json"])
    text, is_error = await patch(ctx, change("app/service.py", "def helper", "def helper2"))
    assert is_error and "denied by this project's patch policy" in text
    text, is_error = await patch(ctx, change("package-lock.json", "{}", '{"lockfileVersion": 3}'))
    assert not is_error, text


async def test_project_policy_as_config_dict(ctx: ToolContext, repo: Path) -> None:
    ctx.policy = PatchPolicy.model_validate({"deny": ["README.md"]})
    text, is_error = await patch(ctx, change("README.md", "# demo", "# x"))
    assert is_error and "README.md is denied by this project's patch policy" in text
    # Another context keeps the default policy: a project's rules stay with its own context.
    text, is_error = await patch(ToolContext(worktree=repo), change("README.md", "# demo", "# x"))
    assert not is_error, text
    assert PatchPolicy() == DEFAULT_POLICY


def test_patch_policy_rules() -> None:
    policy = PatchPolicy()
    denied = [
        ".github/workflows/deploy.yaml", ".github/actions/setup/action.yml", ".gitlab-ci.yml",
        ".gitlab/ci/build.yml", ".circleci/config.yml", "Jenkinsfile", "sub/Jenkinsfile",
        "azure-pipelines.yml", "bitbucket-pipelines.yml", ".travis.yml", ".buildkite/pipeline.yml",
        "Cargo.lock", "web/yarn.lock", "pnpm-lock.yaml", "poetry.lock", "go.sum", "Gemfile.lock",
        "composer.lock", "uv.lock", "ENV/.ENV", ".env.local", "certs/server.pem", "tls.key",
        "id_rsa.pub", "store.p12", "store.pfx", "credentials.json", "secrets.yaml", ".npmrc",
        ".pypirc", ".netrc", ".git/config", ".gitmodules", "docs/CODEOWNERS", "lib/native.so",
        ".gitattributes", ".envrc", ".pre-commit-config.yaml", ".devcontainer/devcontainer.json",
        ".vscode/tasks.json", ".husky/pre-commit",
    ]  # fmt: skip
    for path in denied:
        assert policy.check(path), path
    for path in ["src/app.py", "github/workflows.py", "docs/env.md", "src/lockfile.py", "keys.py", "Makefile"]:
        assert policy.check(path) is None, path
    assert PatchPolicy(use_defaults=False).check(".env") is None
    assert PatchPolicy(use_defaults=False).check("a.png")  # binaries are always refused


def test_glob_semantics() -> None:
    assert glob_match("*.py", "a/b/c.py") and glob_match("*.py", "c.py")
    assert glob_match("src/*.py", "src/a.py") and not glob_match("src/*.py", "src/x/a.py")
    assert glob_match("src/**/*.py", "src/a.py") and glob_match("src/**/*.py", "src/x/y/a.py")
    assert glob_match("build", "build/x/y.txt") and glob_match("te?t_[ab].py", "pkg/test_a.py")
    assert not glob_match("te?t_[!ab].py", "test_a.py")


# ------------------------------------------------------------------ replay


async def test_apply_changes_replays_to_the_same_diff(ctx: ToolContext, repo: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(repo), str(fresh))
    await patch(ctx, change("app/service.py", "return user.name\n", "return user.name if user else None\n"))
    await patch(ctx, change("app/new.py", "", "VALUE = 1\n"), change("README.md", "# demo", "# Demo"))
    final = worktree_diff(repo, [c.file for c in ctx.applied])

    replayed = apply_changes(fresh, ctx.applied, PatchPolicy())
    assert replayed == final
    assert (fresh / "app/new.py").read_text() == "VALUE = 1\n"


def test_apply_changes_is_atomic_and_pure(repo: Path) -> None:
    from tools.base import ToolError

    with pytest.raises(ToolError, match="lock file"):
        apply_changes(
            repo,
            [
                FileChange(file="README.md", original="# demo", modified="# x"),
                FileChange(file="yarn.lock", modified="x"),
            ],
        )
    assert (repo / "README.md").read_text() == "# demo\n"
    diff = apply_changes(repo, [FileChange(file="README.md", original="# demo", modified="# x")])
    assert diff.startswith("diff --git a/README.md b/README.md")


# ------------------------------------------------------------------ submit_fix


async def test_submit_fix_stores_submission(ctx: ToolContext) -> None:
    await patch(ctx, change("README.md", "# demo", "# Demo"))
    args = {
        "analysis": "find() dereferences a missing user",
        "root_cause": "repo.get returns None for deleted users",
        "confidence": "high",
        "pr_title": "Handle missing users in UserService.find",
        "pr_body": "Fixes the AttributeError.",
    }
    out = await call_tool(TOOLS, ctx, "submit_fix", args)
    assert not out.is_error, out.text
    assert "HIGH confidence" in out.text and "1 file(s) changed: README.md" in out.text
    assert ctx.submission == {**args, "confidence": "HIGH"}
    again = await call_tool(TOOLS, ctx, "submit_fix", args)
    assert again.is_error and "already submitted" in again.text


async def test_submit_fix_validation_errors_are_text(ctx: ToolContext) -> None:
    out = await call_tool(TOOLS, ctx, "submit_fix", {"analysis": "a", "root_cause": "b", "confidence": "SURE"})
    assert out.is_error and "Invalid arguments for submit_fix" in out.text
    assert "confidence" in out.text and "pr_title" in out.text
    assert ctx.submission is None


async def test_propose_patch_malformed_arguments(ctx: ToolContext) -> None:
    out = await call_tool(TOOLS, ctx, "propose_patch", {"changes": []})
    assert out.is_error and "changes" in out.text
    out = await call_tool(TOOLS, ctx, "propose_patch", {"changes": [{"file": "README.md"}]})
    assert out.is_error and "original" in out.text and "modified" in out.text
    out = await call_tool(TOOLS, ctx, "propose_patch", {"file": "README.md", "original": "a", "modified": "b"})
    assert out.is_error and "changes" in out.text


# ------------------------------------------------------------------ registry


def _walk_keys(node: object) -> set[str]:
    if isinstance(node, dict):
        keys = set(node)
        for k, v in node.items():
            keys |= _walk_keys(v) if k != "properties" else set().union(*(_walk_keys(x) for x in v.values()))
        return keys
    if isinstance(node, list):
        return set().union(*(_walk_keys(x) for x in node)) if node else set()
    return set()


def openai_tools(specs: list[ToolSpec]) -> list[dict[str, Any]]:
    """The neutral specs as OpenAI's `tools` parameter (function calling)."""
    return [{"type": "function", "function": {"name": s["name"], "description": s["description"],
                                              "parameters": s["input_schema"]}} for s in specs]


def test_registry_order_and_shapes() -> None:
    names = ["get_stacktrace", "read_file", "search_repo", "list_files", "propose_patch", "submit_fix"]
    assert [t.name for t in WORKTREE_TOOLS] == names == WORKTREE_TOOLS.names()
    specs = WORKTREE_TOOLS.specs()
    anth = tool_params([dict(s) for s in specs])
    oai = openai_tools(specs)
    assert [t["name"] for t in anth] == names
    assert [t["function"]["name"] for t in oai] == names
    for spec, a, o in zip(specs, anth, oai, strict=True):
        assert set(spec) == {"name", "description", "input_schema"}
        assert {k: v for k, v in a.items() if k != "cache_control"} == spec
        assert o["type"] == "function" and set(o["function"]) == {"name", "description", "parameters"}
        assert a["input_schema"] == o["function"]["parameters"]
        assert a["input_schema"]["type"] == "object"
        assert len(a["description"]) > 80
        assert not {"title", "$ref", "$defs"} & _walk_keys(a["input_schema"])


def test_registry_required_fields() -> None:
    schemas = {t["name"]: t["input_schema"] for t in WORKTREE_TOOLS.specs()}
    assert schemas["read_file"]["required"] == ["path"]
    assert schemas["search_repo"]["required"] == ["query"]
    assert "required" not in schemas["list_files"]
    assert schemas["propose_patch"]["required"] == ["changes"]
    item = schemas["propose_patch"]["properties"]["changes"]["items"]
    assert list(item["properties"]) == ["file", "description", "original", "modified"]
    assert item["required"] == ["file", "original", "modified"]
    assert "exactly once" in item["properties"]["original"]["description"]
    assert item["properties"]["modified"]["description"]
    submit = schemas["submit_fix"]
    assert submit["required"] == ["analysis", "root_cause", "confidence", "pr_title", "pr_body"]
    assert submit["properties"]["confidence"]["enum"] == ["HIGH", "MEDIUM", "LOW"]
    assert schemas["read_file"]["properties"]["end_line"]["type"] == "integer"


def test_git_available() -> None:
    assert shutil.which("git"), "these tests need git"
    assert subprocess.run(["git", "--version"], capture_output=True).returncode == 0
