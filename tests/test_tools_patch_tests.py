"""propose_patch with a project's tests configured: new tests may be written, existing tests,
test helpers and test configuration may not (the fix must pass the tests, not edit them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.config import TestsConfig
from tests.test_tools_files import make_repo
from tests.test_tools_patch import change, patch, status
from tools.base import ToolContext
from tools.patch import submit_fix
from tools.policy import PatchPolicy, TestFilePolicy
from tools.registry import Registry, call_tool

REPRO = "from app.service import total\n\n\ndef test_total_of_nothing():\n    assert total([]) == 0\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {
        "app/service.py": "def total(xs):\n    return sum(xs) / len(xs)\n",
        "tests/test_service.py": "from app.service import total\n\n\ndef test_total():\n    assert total([2]) == 2\n",
        "tests/conftest.py": "",
        "tests/data/orders.json": "[]\n",
        "app/test_inline.py": "def test_x():\n    assert True\n",
        "pytest.ini": "[pytest]\n",
        "pyproject.toml": "[project]\nname = 'app'\n",
    })


@pytest.fixture
def ctx(repo: Path) -> ToolContext:
    return ToolContext(worktree=repo, tests=TestsConfig(runner="pytest", test_dir="tests"))


async def test_a_new_test_in_the_test_dir_is_written_and_stays_editable(ctx: ToolContext, repo: Path) -> None:
    text, is_error = await patch(ctx, change("tests/test_repro_total.py", "", REPRO))
    assert not is_error, text
    assert (repo / "tests/test_repro_total.py").read_text() == REPRO
    # The run's own test: it may refine it (the file did not exist at the base commit).
    text, is_error = await patch(ctx, change("tests/test_repro_total.py", "== 0", "== 0.0"))
    assert not is_error, text


@pytest.mark.parametrize(("path", "original", "fragment"), [
    ("tests/test_service.py", "== 2", "tests/test_service.py is an existing test file"),
    ("app/test_inline.py", "assert True", "app/test_inline.py is an existing test file"),
    ("tests/data/orders.json", "[]", "tests/data/orders.json is an existing test file"),
    ("tests/conftest.py", "", "tests/conftest.py decides which tests run"),
    ("pytest.ini", "[pytest]", "pytest.ini decides which tests run"),
    ("pyproject.toml", "name = 'app'", "pyproject.toml decides which tests run"),
    ("conftest.py", "", "conftest.py decides which tests run"),
    ("test_repro.py", "", "new tests go in this project's test folder: create tests/test_repro.py"),
    ("tests/helpers.py", "", "not named like a pytest test; name a new test like tests/test_reproduce_error.py"),
])
async def test_existing_tests_and_test_configuration_are_refused(ctx: ToolContext, repo: Path, path: str,
                                                                 original: str, fragment: str) -> None:
    before = status(repo)
    text, is_error = await patch(ctx, change(path, original, "x = 1\n" if not original else original + " "))
    assert is_error and "refused by the patch policy" in text and fragment in text, text
    assert status(repo) == before


async def test_the_refusal_tells_the_model_what_to_do_instead(ctx: ToolContext) -> None:
    text, _ = await patch(ctx, change("tests/test_service.py", "== 2", "== 3"))
    assert "Fix the application code" in text and "create a NEW test file in tests/" in text


async def test_application_code_is_still_editable(ctx: ToolContext) -> None:
    text, is_error = await patch(ctx, change("app/service.py", "/ len(xs)", "/ max(len(xs), 1)"),
                                 change("app/helpers.py", "", "X = 1\n"))
    assert not is_error, text


async def test_without_tests_configured_the_rules_do_not_apply(repo: Path) -> None:
    text, is_error = await patch(ToolContext(worktree=repo), change("tests/test_service.py", "== 2", "== 2.0"))
    assert not is_error, text


async def test_the_projects_allow_list_wins(ctx: ToolContext) -> None:
    ctx.policy = PatchPolicy(allow=["pyproject.toml"])
    text, is_error = await patch(ctx, change("pyproject.toml", "name = 'app'", "name = 'app2'"))
    assert not is_error, text


async def test_a_symlink_to_an_existing_test_is_refused(ctx: ToolContext, repo: Path) -> None:
    (repo / "app" / "alias.py").symlink_to(repo / "tests" / "test_service.py")
    text, is_error = await patch(ctx, change("app/alias.py", "== 2", "== 3"))
    assert is_error and "tests/test_service.py is an existing test file" in text


def test_node_runner_names() -> None:
    node = TestFilePolicy(runner="node", test_dir="test")
    assert node.check("test/cart.test.mjs", new=True) is None
    assert node.check("test/cart.js", new=True) is None  # node --test runs every script in test/
    assert node.check("lib/cart.js", new=True) is None  # application code
    assert "create test/cart.test.js" in (node.check("lib/cart.test.js", new=True) or "")
    assert "existing test file" in (node.check("test/cart.js", new=False) or "")
    assert "decides which tests run" in (node.check("package.json", new=False) or "")
    jest = TestFilePolicy(runner="npm", test_dir="src/__tests__")
    assert jest.check("src/__tests__/cart.test.ts", new=True) is None
    assert "not named like a npm test" in (jest.check("src/__tests__/cart.ts", new=True) or "")


async def test_submit_fix_takes_the_reproduction_test(ctx: ToolContext) -> None:
    out = await call_tool(Registry([submit_fix]), ctx, "submit_fix", {
        "analysis": "a", "root_cause": "r", "confidence": "HIGH", "pr_title": "fix: t", "pr_body": "b",
        "reproduction_test": "tests/test_repro_total.py",
    })
    assert not out.is_error, out.text
    assert ctx.submission is not None and ctx.submission["reproduction_test"] == "tests/test_repro_total.py"
