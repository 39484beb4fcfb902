"""run_tests: the agent's tool over the engine (a checkpointed, non-deterministic step), offered
only where the project has tests; and the same tool over MCP on an issue's checkout."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from execution.engine import TestEngine
from server.config import Secrets, parse_settings
from server.mcp.jobs import FixJobs
from server.mcp.server import TriageTools
from server.mcp.triage import Triage
from tests.execution_fixtures import python_project, sandboxed_engine, vendored_pytest
from tests.fakes.sentry_api import FakeSentry
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN
from tests.test_agent_loop import BUGGY_LINE, FIXED_LINE, _git, make_shop_repo
from tests.test_mcp import ISSUE, ORG, write_config
from tests.test_service_fix import api_event
from tools.base import ToolContext
from tools.registry import TEST_TOOLS, WORKTREE_TOOLS, call_tool, tools_for
from tools.tests import run_tests

pytestmark = pytest.mark.slow

REPRO = """\
from shop.cart import cart_total


def test_total_without_discounts_argument():
    assert cart_total([{"sku": "apple", "qty": 1}]) == 3.0
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> TestEngine:
    return sandboxed_engine(tmp_path_factory.mktemp("state"))


def shop(root: Path) -> Path:
    """The agent tests' shop (a None-dereference bug and its failing test) with pytest vendored."""
    make_shop_repo(root)
    python_project(root, {})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "vendor pytest")
    return root


@pytest.fixture
def ctx(tmp_path: Path, engine: TestEngine) -> ToolContext:
    return ToolContext(worktree=shop(tmp_path / "shop"), engine=engine, tests=vendored_pytest(),
                       repo_key="github:acme/shop")


def test_declared_as_a_checkpointed_step_that_changes_nothing() -> None:
    assert run_tests.deterministic is False
    hints = run_tests.annotations
    assert (hints.read_only, hints.destructive, hints.idempotent, hints.open_world) == (False, False, False, False)


def test_offered_only_to_projects_with_tests(tmp_path: Path, engine: TestEngine) -> None:
    bare = ToolContext(worktree=tmp_path)
    assert tools_for(bare) is WORKTREE_TOOLS and "run_tests" not in WORKTREE_TOOLS
    with_tests = ToolContext(worktree=tmp_path, engine=engine, tests=vendored_pytest())
    assert tools_for(with_tests) is TEST_TOOLS
    assert TEST_TOOLS.names() == ["get_stacktrace", "read_file", "search_repo", "list_files", "propose_patch",
                                  "run_tests", "submit_fix"]


async def test_without_a_tests_block_it_says_so(tmp_path: Path) -> None:
    outcome = await call_tool(TEST_TOOLS, ToolContext(worktree=tmp_path), "run_tests", {})
    assert outcome.is_error and "this project has no tests: block configured" in outcome.text


async def test_reproduce_fix_prove(ctx: ToolContext) -> None:
    # The reproduction test, as propose_patch would have written it.
    (ctx.worktree / "tests" / "test_repro.py").write_text(REPRO)
    red = await call_tool(TEST_TOOLS, ctx, "run_tests", {"file": "tests/test_repro.py"})
    assert not red.is_error
    assert red.text.startswith("FAILED: 0 passed, 1 failed (pytest, exit 1,")
    assert ("1. tests/test_repro.py::test_total_without_discounts_argument — "
            "AttributeError: 'NoneType' object has no attribute 'get'") in red.text
    assert BUGGY_LINE.strip() in red.text  # the traceback, down to the crashing line
    assert red.data is not None and red.data["failed"] == 1

    cart = ctx.worktree / "shop" / "cart.py"
    cart.write_text(cart.read_text().replace(BUGGY_LINE, FIXED_LINE))
    green = await call_tool(TEST_TOOLS, ctx, "run_tests", {"file": "tests/test_repro.py"})
    assert green.text.startswith("PASSED: 1 passed, 0 failed")
    suite = await call_tool(TEST_TOOLS, ctx, "run_tests", {})
    assert suite.text.startswith("PASSED: 3 passed, 0 failed") and "reused" in suite.text
    some = await call_tool(TEST_TOOLS, ctx, "run_tests", {"tests": ["tests/test_cart.py"], "keyword": "with_discount"})
    assert some.text.startswith("PASSED: 1 passed, 0 failed")


async def test_bad_arguments_are_tool_errors(ctx: ToolContext) -> None:
    missing = await call_tool(TEST_TOOLS, ctx, "run_tests", {"file": "tests/test_nothing.py"})
    assert missing.is_error and "does not exist; write it with propose_patch first" in missing.text
    escape = await call_tool(TEST_TOOLS, ctx, "run_tests", {"file": "../../etc/passwd"})
    assert escape.is_error
    option = await call_tool(TEST_TOOLS, ctx, "run_tests", {"tests": ["--rootdir=/"]})
    assert option.is_error and "cannot start with '-'" in option.text


async def test_a_broken_setup_is_reported_not_raised(ctx: ToolContext) -> None:
    ctx.tests = vendored_pytest(setup=["pip install this-package-does-not-exist-anywhere --no-index"])
    outcome = await call_tool(TEST_TOOLS, ctx, "run_tests", {})
    assert outcome.is_error and outcome.text.startswith("Error: the tests cannot run: setup command 'pip install")


# --- over MCP -----------------------------------------------------------------------------------


@pytest.fixture
def sentry_url() -> Iterator[str]:
    fake = FakeSentry(token=SENTRY_TOKEN, org=ORG, load_fixtures=False)
    fake.add_event(api_event(ISSUE), project_slug="shop")
    with serve_app(fake.app) as url:
        yield url


async def test_over_mcp_on_an_issues_checkout(tmp_path: Path, sentry_url: str, engine: TestEngine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.setenv("AUTOFIXER_SENTRY_TOKEN", SENTRY_TOKEN)
    origin = shop(tmp_path / "origin")
    raw = yaml.safe_load(write_config(tmp_path, sentry_url, str(origin)).read_text())
    raw["projects"][0]["tests"] = {"runner": "pytest", "env": {"PYTHONPATH": "_vendor"}}
    settings = parse_settings(raw)
    async with Triage(settings, Secrets(), engine=engine) as triage:
        tools = TriageTools(triage, FixJobs(settings))
        [listed] = [t for t in tools.list_tools() if t.name == "run_tests"]
        hints = listed.annotations
        assert hints is not None and (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint,
                                      hints.open_world_hint) == (False, False, False, False)
        assert listed.input_schema["required"] == ["issue_id"]
        report = await tools.call("run_tests", {"issue_id": ISSUE, "tests": ["tests/test_cart.py"]})
        assert report.text.startswith("FAILED: 1 passed, 1 failed")
        assert "github:acme/shop@" in report.text  # the environment the service's jobs share


def test_mcp_offers_run_tests_only_when_a_project_has_tests(tmp_path: Path) -> None:
    from server.mcp.tools import mcp_tools

    raw = yaml.safe_load(write_config(tmp_path, "http://127.0.0.1:9", "/nowhere").read_text())
    assert "run_tests" not in mcp_tools(parse_settings(raw)).names()
    raw["projects"][0]["tests"] = {"runner": "pytest"}
    assert "run_tests" in mcp_tools(parse_settings(raw)).names()
