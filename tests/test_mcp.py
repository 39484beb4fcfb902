"""`autofixer mcp` driven by the real `mcp` client: over stdio (the server spawned as a
subprocess, as Claude Desktop does) and over streamable HTTP, against the fake Sentry API, a
local git repository and, for the pull request, the fake GitHub; plus run_autofix against a
real `autofixer serve`. The in-process tests at the end cover what needs a controlled clock or
a stand-in for the forge."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
import yaml
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from domain import Confidence
from server.config import Secrets, parse_settings
from server.mcp.jobs import FixJobs, describe_job
from server.mcp.server import McpOptions, TriageTools, build_server, exposure_problem, is_loopback
from server.mcp.tools import mcp_tools, publish_reply
from server.mcp.triage import PullRequestRequest, Triage
from server.pipeline.publish import PublishOutcome, PublishState
from tests.fakes.anthropic_api import API_KEY, FakeAnthropic
from tests.fakes.sentry_api import FakeSentry, load_fixture
from tests.fakes.serve import free_port, serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import BUGGY_LINE, FIXED_LINE, _git, make_shop_repo
from tests.test_service_fix import SCRIPT, api_event
from tools.base import ToolContext, ToolOutcome
from tools.registry import WORKTREE_TOOLS, Registry, call_tool

ROOT = Path(__file__).resolve().parents[1]
ORG = "test-org"
ISSUE = "4242"  # the shop's crash, project "shop" (configured)
MCP_TOKEN = "test-mcp-token-not-real-7c1d9e"
GITHUB_TOKEN = "ghp_" + "testTokenNotReal000000000000000000"  # built: no token-shaped literal
BRANCH = f"fix/auto-fixer-sentry-{ISSUE}"
EXPECTED_TOOLS = ["list_issues", "get_issue", "get_stacktrace", "read_file", "search_repo", "list_files",
                  "propose_patch", "open_pull_request", "run_autofix", "get_fix_status"]


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """The shop's repository (non-bare: a dry-run publish may push its branch here)."""
    return make_shop_repo(tmp_path / "shop-origin")


@pytest.fixture
def sentry() -> Iterator[tuple[FakeSentry, str, str]]:
    """The fake Sentry with two issues: ISSUE (project shop) and another (project django-app,
    not configured, older). Yields (fake, base URL, the other issue's id)."""
    fake = FakeSentry(token=SENTRY_TOKEN, org=ORG, load_fixtures=False)
    fake.add_event(api_event(ISSUE), project_slug="shop")
    other = fake.add_event(load_fixture("glitchtip-oss-sentry-python_zero_division.json"), project_slug="django-app")
    with serve_app(fake.app) as url:
        yield fake, url, other


def write_config(tmp_path: Path, sentry_url: str, clone_url: str, **sections: Any) -> Path:
    config: dict[str, Any] = {
        "source": {"base-url": sentry_url, "org": ORG},
        "projects": [{"source-project": "shop", "scm-repo": "acme/shop", "clone-url": clone_url}],
        "behavior": {"dry-run": True},
        "worker": {"sentry-backoff-seconds": 0.05},
        "state-dir": str(tmp_path / "state"),
        **sections,
    }
    path = tmp_path / "autofixer.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def config(tmp_path: Path, sentry: tuple[FakeSentry, str, str], origin: Path) -> Path:
    return write_config(tmp_path, sentry[1], str(origin))


def _server_args(config: Path, *extra: str) -> list[str]:
    return ["-m", "server.cli", "--config", str(config), "mcp", "--log-level", "INFO", *extra]


@contextlib.asynccontextmanager
async def stdio_session(config: Path, env: dict[str, str] | None = None
                        ) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    """`autofixer mcp` as a subprocess, connected and initialised like Claude Desktop does
    (the initialize handshake); its stderr goes to `server-stderr.log` beside the config."""
    params = StdioServerParameters(
        command=sys.executable, args=_server_args(config), cwd=str(ROOT),
        env={"AUTOFIXER_SENTRY_TOKEN": SENTRY_TOKEN, **(env or {})},
    )
    with (config.parent / "server-stderr.log").open("a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), \
                ClientSession(read, write, read_timeout_seconds=60) as session:
            yield session, await session.initialize()


async def call(session: ClientSession | Client, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    result = await session.call_tool(name, arguments)
    assert isinstance(result, types.CallToolResult)
    return result


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def ok(result: types.CallToolResult) -> str:
    assert not result.is_error, text_of(result)
    return text_of(result)


def error(result: types.CallToolResult) -> str:
    assert result.is_error, text_of(result)
    return text_of(result)


async def on_issue(triage: Triage, name: str, arguments: dict[str, Any]) -> ToolOutcome:
    """A worktree tool on ISSUE's checkout, called as the MCP server calls it (in process)."""
    return await TriageTools(triage, FixJobs(triage.settings)).call(name, {"issue_id": ISSUE, **arguments})


def mcp_worktrees(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "state" / "worktrees").glob("mcp-*"))


# ---- stdio: the tool list is the agent's ---------------------------------------------------


async def test_stdio_tools_are_the_agents_registry_plus_issue_id(config: Path) -> None:
    async with stdio_session(config) as (session, init):
        assert init.server_info.name == "autofixer"
        assert init.capabilities.tools and init.capabilities.resources and init.capabilities.prompts
        tools = {t.name: t for t in (await session.list_tools()).tools}
        templates = (await session.list_resource_templates()).resource_templates
        prompts = (await session.list_prompts()).prompts
        prompt = await session.get_prompt("triage_issue", {"issue_id": ISSUE})

    assert list(tools) == EXPECTED_TOOLS
    # The agent's worktree tools, except what only the agent may call (submit_fix ends its run).
    shared = WORKTREE_TOOLS.for_audience("mcp")
    assert shared.names() == [n for n in WORKTREE_TOOLS.names() if n != "submit_fix"]
    assert set(shared.names()) <= set(tools) and "submit_fix" not in tools
    for tool in shared:
        agent = tool.input_schema()
        served = tools[tool.name].input_schema
        # Identical to what the agent's model sees, plus the issue that selects the worktree.
        assert {k: v for k, v in served["properties"].items() if k != "issue_id"} == agent["properties"]
        assert next(iter(served["properties"])) == "issue_id"
        assert served["required"] == ["issue_id", *agent.get("required", [])]
        assert served["properties"]["issue_id"]["type"] == "string"
        assert {k: v for k, v in served.items() if k not in ("properties", "required")} == \
            {k: v for k, v in agent.items() if k not in ("properties", "required")}
        assert (tools[tool.name].description or "").startswith(tool.description)

    # Every served tool is its declaration: title, schema and annotations, from the one registry.
    declared = mcp_tools(parse_settings(yaml.safe_load(config.read_text())))
    assert declared.names() == EXPECTED_TOOLS
    for tool in declared:
        served_tool = tools[tool.name]
        assert (served_tool.title, served_tool.description, served_tool.input_schema) == \
            (tool.title, tool.description, tool.input_schema())
        assert served_tool.annotations is not None
        a = served_tool.annotations
        assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == (
            tool.annotations.read_only, tool.annotations.destructive, tool.annotations.idempotent,
            tool.annotations.open_world), tool.name

    hints = {name: t.annotations for name, t in tools.items() if t.annotations is not None}
    assert list(hints) == EXPECTED_TOOLS  # every tool says what it does to the world
    for name in ("get_stacktrace", "read_file", "search_repo", "list_files", "get_fix_status"):
        assert hints[name].read_only_hint is True and hints[name].open_world_hint is False, name
    for name in ("list_issues", "get_issue"):
        assert hints[name].read_only_hint is True and hints[name].open_world_hint is True, name
    assert hints["propose_patch"].read_only_hint is False and hints["propose_patch"].destructive_hint is False
    assert hints["open_pull_request"].destructive_hint is True and hints["open_pull_request"].open_world_hint
    # A queued job cannot open a PR in this (dry-run) configuration, and re-queueing is a no-op.
    assert hints["run_autofix"].destructive_hint is False and hints["run_autofix"].idempotent_hint is True
    assert "opening a pull request" not in (tools["run_autofix"].description or "")
    assert tools["read_file"].title == "Read a file of the repository"
    assert tools["open_pull_request"].title == "Open a pull request with the staged change"
    assert tools["open_pull_request"].input_schema["required"] == ["issue_id", "title", "body"]
    assert tools["list_issues"].input_schema["properties"]["limit"] == {
        "type": "integer", "default": 25, "minimum": 1, "maximum": 100,
        "description": tools["list_issues"].input_schema["properties"]["limit"]["description"],
    }

    assert [(t.uri_template, t.mime_type) for t in templates] == [("sentry://issues/{id}", "application/json")]
    assert [(p.name, [(a.name, a.required) for a in p.arguments or []]) for p in prompts] == \
        [("triage_issue", [("issue_id", True)])]
    steps = prompt.messages[0].content
    assert isinstance(steps, types.TextContent)
    for needle in ("Investigate", "Root cause", "Patch", "Pull request", f'get_issue(issue_id="{ISSUE}")',
                   "open_pull_request", "untrusted"):
        assert needle in steps.text


# ---- stdio: a whole triage session ---------------------------------------------------------


async def test_stdio_triage_session_list_to_dry_run_pull_request(
    config: Path, tmp_path: Path, sentry: tuple[FakeSentry, str, str], origin: Path
) -> None:
    _, _, other = sentry
    async with stdio_session(config) as (session, _):
        listed = await call(session, "list_issues", {})
        shop_only = await call(session, "list_issues", {"project": "shop", "limit": 5})
        issue = ok(await call(session, "get_issue", {"issue_id": ISSUE}))
        resource = await session.read_resource(f"sentry://issues/{ISSUE}")
        stack = ok(await call(session, "get_stacktrace", {"issue_id": ISSUE}))
        source = ok(await call(session, "read_file", {"issue_id": ISSUE, "path": "shop/cart.py"}))
        found = ok(await call(session, "search_repo", {"issue_id": ISSUE, "query": "def apply_discount"}))
        files = ok(await call(session, "list_files", {"issue_id": ISSUE}))
        refused = error(await call(session, "open_pull_request", {"issue_id": ISSUE, "title": "t", "body": "b"}))
        patched = ok(await call(session, "propose_patch", {"issue_id": ISSUE, "changes": [{
            "file": "shop/cart.py", "description": "Treat missing discounts as none.",
            "original": BUGGY_LINE, "modified": FIXED_LINE}]}))
        opened = await call(session, "open_pull_request", {
            "issue_id": ISSUE, "title": "fix: handle carts without discounts", "confidence": "HIGH",
            "body": "apply_discount called .get on None when a cart had no discounts.",
            "root_cause": "apply_discount assumes discounts is a dict, but its default is None."})
        assert [p.name.rsplit("-", 1)[1] for p in mcp_worktrees(tmp_path)] == [ISSUE]  # created on first use

    # Newest first, with what a person scans for.
    assert ok(listed).index(f"- {ISSUE} ") < ok(listed).index(f"- {other} ")
    assert [i["id"] for i in listed.structured_content["issues"]] == [ISSUE, other]
    assert "culprit: shop.cart in apply_discount" in ok(listed) and "last seen: 2026-11-20T10:00:00Z" in ok(listed)
    assert [i["id"] for i in shop_only.structured_content["issues"]] == [ISSUE]
    # get_issue: the summary, then the event exactly as `autofixer event show` renders it.
    assert issue.startswith(f"Issue {ISSUE} (") and "repository acme/shop (branch main)" in issue
    assert "Latest event:\nEvent c0ffee0000000000000000000000beef: AttributeError" in issue
    [content] = resource.contents
    assert isinstance(content, types.TextResourceContents) and content.mime_type == "application/json"
    event = json.loads(content.text)
    assert (event["issue_id"], event["project"], event["exceptions"][0]["type"]) == (ISSUE, "shop", "AttributeError")
    # The repository tools act on the worktree: frames mapped, source read from the checkout.
    assert "shop/cart.py:11   <== CRASH" in stack and BUGGY_LINE in stack
    assert BUGGY_LINE in source and "shop/cart.py:10" in found and "shop/" in files
    assert "nothing is staged" in refused
    assert f"+{FIXED_LINE}" in patched and f"-{BUGGY_LINE}" in patched
    # Dry run: no PR, but the fix branch went to the local origin with the staged change.
    assert ok(opened).startswith("Dry run") and opened.structured_content["state"] == "dry_run"
    assert opened.structured_content["branch"] == BRANCH and "Root cause" in ok(opened)
    if opened.structured_content["pushed"]:
        fixed = subprocess.run(["git", "show", f"{BRANCH}:shop/cart.py"], cwd=origin, capture_output=True, text=True)
        assert FIXED_LINE in fixed.stdout
    # The session's worktree is removed when the client disconnects.
    assert mcp_worktrees(tmp_path) == []


async def test_stdio_bad_input_is_a_tool_error_and_the_server_keeps_serving(
    config: Path, sentry: tuple[FakeSentry, str, str]
) -> None:
    _, _, other = sentry
    async with stdio_session(config) as (session, _):
        results = {
            "unknown issue": await call(session, "get_issue", {"issue_id": "999999"}),
            "bad issue id": await call(session, "get_issue", {"issue_id": "../../etc"}),
            "traversal": await call(session, "read_file", {"issue_id": ISSUE, "path": "../../etc/passwd"}),
            "absolute": await call(session, "read_file", {"issue_id": ISSUE, "path": "/etc/passwd"}),
            "git dir": await call(session, "read_file", {"issue_id": ISSUE, "path": ".git/config"}),
            "missing arg": await call(session, "read_file", {"issue_id": ISSUE}),
            "no issue": await call(session, "list_files", {"path": ""}),
            "wrong type": await call(session, "list_issues", {"limit": "many"}),
            "out of range": await call(session, "list_issues", {"limit": 0}),
            "extra arg": await call(session, "get_issue", {"issue_id": ISSUE, "verbose": True}),
            "bad patch": await call(session, "propose_patch", {"issue_id": ISSUE, "changes": "all of it"}),
            "unconfigured": await call(session, "get_stacktrace", {"issue_id": other}),
            "unknown tool": await call(session, "rm_rf", {}),
            "no job": await call(session, "get_fix_status", {"job_id": f"sentry:{ORG}:{ISSUE}"}),
        }
        with pytest.raises(MCPError, match="no such issue"):
            await session.read_resource("sentry://issues/999999")
        with pytest.raises(MCPError, match="unknown resource"):
            await session.read_resource("file:///etc/passwd")
        with pytest.raises(MCPError, match="issue_id is required"):
            await session.get_prompt("triage_issue", {})
        still = ok(await call(session, "list_issues", {"limit": 1}))

    messages = {name: error(result) for name, result in results.items()}
    assert "no such issue" in messages["unknown issue"] and "404" in messages["unknown issue"]
    assert "invalid issue id" in messages["bad issue id"]
    assert "'..' is not allowed" in messages["traversal"]
    assert "absolute paths are not allowed" in messages["absolute"]
    assert "git metadata is not allowed" in messages["git dir"]
    assert messages["missing arg"] == "Invalid arguments for read_file: path: Field required"
    assert messages["no issue"] == "Invalid arguments for list_files: issue_id: Field required"
    assert "limit: Input should be a valid integer" in messages["wrong type"]
    assert "limit: Input should be greater than or equal to 1" in messages["out of range"]
    assert "verbose: Extra inputs are not permitted" in messages["extra arg"]
    assert "Invalid arguments for propose_patch: changes" in messages["bad patch"]
    assert "'django-app', which is not in projects[]" in messages["unconfigured"]
    assert messages["unknown tool"].startswith("Unknown tool 'rm_rf'. Available tools: list_issues,")
    assert "no job store" in messages["no job"] and "autofixer serve" in messages["no job"]
    assert still.startswith("1 issue(s)")
    assert SENTRY_TOKEN not in json.dumps(messages)


async def test_agent_and_mcp_share_one_validation_path(config: Path, origin: Path) -> None:
    """The same mistake reads the same to the agent's model and to an MCP client's."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("read_file", {}),
        ("read_file", {"path": "shop/cart.py", "start_line": "first"}),
        ("read_file", {"path": "../../etc/passwd"}),
        ("search_repo", {"query": "x", "bogus": 1}),
        ("search_repo", {"query": "two\nlines"}),
        ("list_files", {"path": "shop/cart.py"}),
        ("propose_patch", {"changes": "all of it"}),
        ("propose_patch", {"changes": [{"file": "shop/cart.py", "original": "no such text", "modified": "x"}]}),
        ("propose_patch", {"changes": [{"file": ".github/workflows/ci.yml", "original": "", "modified": "on: push"}]}),
    ]
    agent_ctx = ToolContext(worktree=origin)
    agent = [await call_tool(WORKTREE_TOOLS, agent_ctx, name, args) for name, args in calls]
    async with stdio_session(config) as (session, _):
        served = [await call(session, name, {"issue_id": ISSUE, **args}) for name, args in calls]
    for (name, args), mine, theirs in zip(calls, agent, served, strict=True):
        assert mine.is_error and theirs.is_error, (name, args)
        assert text_of(theirs) == mine.text, (name, args)
    assert agent[0].malformed and not agent[2].malformed  # a bad call, then a tool's own refusal


# ---- the pull request through the fake GitHub ------------------------------------------------


async def propose_and_open_twice(session: ClientSession) -> tuple[types.CallToolResult, types.CallToolResult]:
    """Stage the shop's fix on ISSUE, then call open_pull_request twice with the same arguments."""
    ok(await call(session, "propose_patch", {"issue_id": ISSUE, "changes": [{
        "file": "shop/cart.py", "original": BUGGY_LINE, "modified": FIXED_LINE}]}))
    arguments = {"issue_id": ISSUE, "title": "Handle carts without discounts", "confidence": "HIGH",
                 "body": "`discounts` defaults to None; treat it as no discount."}
    return await call(session, "open_pull_request", arguments), await call(session, "open_pull_request", arguments)


async def test_stdio_open_pull_request_through_the_fake_github(
    tmp_path: Path, sentry: tuple[FakeSentry, str, str], origin: Path
) -> None:
    from tests.fakes.github_api import FakeGitHub

    bare = tmp_path / "forge" / "acme" / "shop.git"
    _git(tmp_path, "clone", "-q", "--bare", str(origin), str(bare))
    github = FakeGitHub(token=GITHUB_TOKEN, repo_paths={"acme/shop": bare})
    with serve_app(github.app) as github_url:
        config = write_config(tmp_path, sentry[1], str(bare), behavior={"dry-run": False},
                              scm={"type": "github", "base-url": github_url})
        async with stdio_session(config, env={"AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN}) as (session, _):
            opened, again = await propose_and_open_twice(session)

    url = "https://github.com/acme/shop/pull/1"
    assert ok(opened) == f"Opened {url} (branch {BRANCH})." and opened.structured_content["state"] == "opened"
    assert again.structured_content == opened.structured_content  # nothing new staged: not published twice
    [pull] = github.pulls["acme/shop"]
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (BRANCH, "main")
    assert pull["title"] == "fix: Handle carts without discounts"
    assert "treat it as no discount" in pull["body"] and "review" in pull["body"]
    assert "confidence-high" in [label["name"] for label in pull["labels"]]
    assert len(github.find("POST", "/pulls")) == 1
    shown = subprocess.run(["git", "--git-dir", str(bare), "show", f"{BRANCH}:shop/cart.py"],
                           capture_output=True, text=True, check=True)
    assert FIXED_LINE in shown.stdout


# ---- streamable HTTP -------------------------------------------------------------------------


@contextlib.contextmanager
def http_server(config: Path, port: int, *, token: str | None, host: str = "127.0.0.1") -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AUTOFIXER_")}
    env["AUTOFIXER_SENTRY_TOKEN"] = SENTRY_TOKEN
    if token:
        env["AUTOFIXER_MCP_TOKEN"] = token
    log = (config.parent / "http-server.log").open("ab")
    proc = subprocess.Popen([sys.executable, *_server_args(config, "--http", "--host", host, "--port", str(port))],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (config.parent / "http-server.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url, timeout=1)
                break
            assert time.monotonic() < deadline, "the MCP HTTP server did not start"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def _rpc(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params is not None else {})}


async def test_http_requires_the_token_and_serves_the_same_tools(
    config: Path, tmp_path: Path
) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    initialize = _rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "curl", "version": "1"}})
    with http_server(config, free_port(), token=MCP_TOKEN) as url:
        no_token = httpx.post(url, json=initialize, headers=headers, timeout=10)
        wrong = httpx.post(url, json=initialize, headers={**headers, "Authorization": "Bearer nope"}, timeout=10)
        garbage = httpx.post(url, content=b"{not json", headers={**headers, "Authorization": f"Bearer {MCP_TOKEN}"},
                             timeout=10)
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {MCP_TOKEN}"}, timeout=30) as http, \
                Client(streamable_http_client(url, http_client=http)) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            issue = ok(await call(client, "get_issue", {"issue_id": ISSUE}))
            stack = ok(await call(client, "get_stacktrace", {"issue_id": ISSUE}))
            bad = error(await call(client, "read_file", {"issue_id": ISSUE, "path": ["shop/cart.py"]}))
            traversal = error(await call(client, "read_file", {"issue_id": ISSUE, "path": "../../etc/passwd"}))
            still = ok(await call(client, "list_issues", {"limit": 1}))

    assert no_token.status_code == 401 and no_token.headers["www-authenticate"].startswith("Bearer")
    assert "bearer token" in no_token.json()["error"] and wrong.status_code == 401
    assert garbage.status_code == 400
    assert names == EXPECTED_TOOLS
    assert issue.startswith(f"Issue {ISSUE}") and "<== CRASH" in stack
    assert "path: Input should be a valid string" in bad and "'..' is not allowed" in traversal
    assert still.startswith("1 issue(s)")
    assert MCP_TOKEN not in (tmp_path / "http-server.log").read_text()


def test_http_beyond_loopback_without_a_token_refuses_to_start(config: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOFIXER_")}
    proc = subprocess.run([sys.executable, *_server_args(config, "--http", "--host", "0.0.0.0")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "refusing to serve MCP on 0.0.0.0" in proc.stderr and "AUTOFIXER_MCP_TOKEN" in proc.stderr


def test_exposure_rule() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "mcp.example.com"))
    assert exposure_problem(McpOptions(http=True, host="127.0.0.1")) is None
    assert exposure_problem(McpOptions(http=True, host="0.0.0.0", token="s3cret-token")) is None
    assert "without authentication" in (exposure_problem(McpOptions(http=True, host="0.0.0.0")) or "")


# ---- run_autofix / get_fix_status against the real service ------------------------------------


@pytest.mark.slow
async def test_run_autofix_queues_one_job_per_issue_and_reports_its_outcome(
    tmp_path: Path, sentry: tuple[FakeSentry, str, str], origin: Path
) -> None:
    from dbos import DBOSClient

    _, sentry_url, other = sentry
    llm = FakeAnthropic(list(SCRIPT))
    with serve_app(llm.app) as llm_url:
        svc = Service(tmp_path, sentry_url, env={"AUTOFIXER_LLM_KEY": API_KEY}, config={
            "projects": [{"source-project": "shop", "scm-repo": "acme/shop", "clone-url": str(origin)}],
            "llm": {"provider": "anthropic", "base-url": llm_url, "max-steps": 10},
            "behavior": {"dry-run": True},
            "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        }).start()
        try:
            # A job a webhook started first: run_autofix must find it, not start another.
            webhook = load_fixture("webhook-issue-created.json")
            webhook["data"]["issue"].update(id=other, project={"id": "1", "slug": "django-app", "name": "d"})
            assert svc.post_webhook(webhook, "issue").status_code == 202
            _wait_for(lambda: (svc.job(f"sentry:{ORG}:{other}") or {}).get("status") not in (None, "RECEIVED"))
            async with stdio_session(svc.config_path) as (session, _):
                first = await call(session, "run_autofix", {"issue_id": ISSUE})
                second = await call(session, "run_autofix", {"issue_id": ISSUE})
                webhooks = await call(session, "run_autofix", {"issue_id": other})
                status = await _final_status(session, f"sentry:{ORG}:{ISSUE}")
                skipped = await _final_status(session, f"sentry:{ORG}:{other}")
            service_view = svc.job(f"sentry:{ORG}:{ISSUE}")
        finally:
            svc.stop()

    job = f"sentry:{ORG}:{ISSUE}"
    assert first.structured_content == {"job_id": job, "created": True, "status": first.structured_content["status"]}
    assert ok(first).startswith(f"Queued the autonomous fix for issue {ISSUE} as job {job}")
    assert second.structured_content["job_id"] == job and second.structured_content["created"] is False
    assert "already has a fix job" in ok(second)
    assert webhooks.structured_content == {"job_id": f"sentry:{ORG}:{other}", "created": False,
                                           "status": webhooks.structured_content["status"]}
    # One workflow per issue in the job store.
    client = DBOSClient(system_database_url=f"sqlite:///{tmp_path / 'state' / 'autofixer.sqlite'}")
    try:
        rows = await client.list_workflows_async(workflow_id_prefix="sentry:", load_input=False, load_output=False)
    finally:
        client.destroy()
    assert sorted(r.workflow_id for r in rows) == sorted([job, f"sentry:{ORG}:{other}"])
    # The outcome the service recorded, as get_fix_status reports it.
    assert status["status"] == "done" and status["workflow_status"] == "SUCCESS", status
    assert status["confidence"] == "HIGH" and status["cost_usd"] > 0 and status["files_changed"] == ["shop/cart.py"]
    assert status["publication"]["state"] == "dry_run" and status["exit_reason"] == "submitted"
    assert service_view is not None and service_view["status"] == "done"
    assert skipped["status"] == "skipped" and "not in projects[]" in skipped["reason"]


def _wait_for(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


async def _final_status(session: ClientSession, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        result = await call(session, "get_fix_status", {"job_id": job_id})
        status = json.loads(ok(result))
        assert status == result.structured_content
        if status["status"] not in ("queued", "running"):
            return status
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {status}"
        await asyncio.sleep(0.2)


# ---- in process: idle timeout, the publish contract, status mapping ------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_idle_worktrees_are_removed_and_rebuilt_on_next_use(
    tmp_path: Path, sentry: tuple[FakeSentry, str, str], origin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOFIXER_SENTRY_TOKEN", SENTRY_TOKEN)
    settings = parse_settings(yaml.safe_load(write_config(tmp_path, sentry[1], str(origin)).read_text()))
    clock = FakeClock()
    async with Triage(settings, Secrets(), idle_timeout=60, clock=clock) as triage:
        patch = {"changes": [{"file": "shop/cart.py", "original": BUGGY_LINE, "modified": FIXED_LINE}]}
        assert not (await on_issue(triage, "propose_patch", patch)).is_error
        [first] = mcp_worktrees(tmp_path)
        clock.now += 59
        assert await triage.reap_idle() == [] and first.exists()
        clock.now += 1
        assert await triage.reap_idle() == [ISSUE]
        assert mcp_worktrees(tmp_path) == [] and triage.open_issues() == []
        # Next use checks the issue out afresh: the edit staged before is gone with the old worktree.
        reread = await on_issue(triage, "read_file", {"path": "shop/cart.py"})
        assert BUGGY_LINE in reread.text and triage.open_issues() == [ISSUE]
    assert mcp_worktrees(tmp_path) == []


async def test_open_pull_request_hands_publish_the_staged_fix(
    tmp_path: Path, sentry: tuple[FakeSentry, str, str], origin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOFIXER_SENTRY_TOKEN", SENTRY_TOKEN)
    raw = yaml.safe_load(write_config(tmp_path, sentry[1], str(origin)).read_text())
    raw["behavior"] = {"auto-pr": False, "dry-run": True}
    settings = parse_settings(raw)
    calls: list[dict[str, Any]] = []

    async def publish(behavior: Any, project: Any, *, worktree: Path, issue_id: str, event: Any,
                      fix: Any, source: Any, forge: Any, secrets: list[str]) -> PublishOutcome:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=worktree, capture_output=True, text=True).stdout
        calls.append(dict(behavior=behavior, project=project, worktree=worktree, head=head.strip(),
                          issue_id=issue_id, event=event, fix=fix, source=source, forge=forge))
        return PublishOutcome(state="dry_run", branch=BRANCH)

    async with Triage(settings, Secrets()) as triage:
        patch = {"changes": [{"file": "shop/cart.py", "original": BUGGY_LINE, "modified": FIXED_LINE}]}
        await on_issue(triage, "propose_patch", patch)
        request = PullRequestRequest("fix(cart): handle missing discounts", "Body.", Confidence.HIGH)
        outcome = await triage.open_pull_request(ISSUE, request, publish)
        again = await triage.open_pull_request(ISSUE, request, publish)

    assert outcome is again and len(calls) == 1
    [c] = calls
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=origin, capture_output=True, text=True).stdout.strip()
    assert c["head"] == head and c["issue_id"] == ISSUE and c["project"].scm_repo == "acme/shop"
    assert c["event"].project == "shop" and c["worktree"].name.endswith(f"-{ISSUE}")
    # A person asking is not "automatic": auto-pr does not apply, dry-run still does.
    assert c["behavior"].auto_pr is True and c["behavior"].dry_run is True
    assert c["source"].kind == "sentry" and c["forge"].kind == "github"
    assert settings.behavior.auto_pr is False
    fix = c["fix"]
    assert (fix.pr_title, fix.analysis, fix.confidence) == ("fix(cart): handle missing discounts", "Body.",
                                                            Confidence.HIGH)
    assert fix.root_cause == "handle missing discounts"
    assert [ch.file for ch in fix.changes] == ["shop/cart.py"] and f"+{FIXED_LINE}" in fix.diff


def test_publish_outcomes_become_replies() -> None:
    def Outcome(state: PublishState, reason: str = "", pr_url: str | None = None) -> PublishOutcome:
        return PublishOutcome(state=state, reason=reason, pr_url=pr_url, branch=BRANCH, title="fix: x", body="b")

    opened = publish_reply(Outcome("opened", pr_url="https://x/pull/1"))
    assert opened.text == f"Opened https://x/pull/1 (branch {BRANCH})." and not opened.is_error
    assert "already open" in publish_reply(Outcome("existing", pr_url="https://x/pull/1")).text
    assert not publish_reply(Outcome("dry_run")).is_error
    skipped = publish_reply(Outcome("skipped", "confidence is LOW: analysis recorded, no pull request"))
    assert skipped.is_error and "confidence is LOW" in skipped.text
    assert publish_reply(Outcome("failed", "git push failed")).is_error


def test_job_status_mapping() -> None:
    assert describe_job("j", "ENQUEUED", None, None, None) == {"job_id": "j", "status": "queued",
                                                              "workflow_status": "ENQUEUED", "stage": None}
    assert describe_job("j", "PENDING", None, None, "fix")["status"] == "running"
    failed = describe_job("j", "ERROR", None, RuntimeError("boom"), "fix")
    assert failed["status"] == "failed" and "boom" in failed["reason"]
    # A workflow that finished is not a job that succeeded: the job's own state is on top.
    outage = describe_job("j", "SUCCESS", {"state": "failed", "reason": "Anthropic API 529 overloaded"}, None, "fix")
    assert (outage["status"], outage["workflow_status"], outage["reason"]) == \
        ("failed", "SUCCESS", "Anthropic API 529 overloaded")
    done = describe_job("j", "SUCCESS", {"state": "done", "pr_url": "https://x/pull/1", "fix": {
        "confidence": "MEDIUM", "usage": {"cost_usd": 0.01}, "changes": [{"file": "a.py"}, {"file": "a.py"}]},
        "publication": {"state": "opened", "pr_url": "https://x/pull/1", "branch": "b", "reason": ""}}, None, "fix")
    assert (done["status"], done["confidence"], done["pr_url"], done["cost_usd"], done["files_changed"]) == \
        ("done", "MEDIUM", "https://x/pull/1", 0.01, ["a.py"])
    assert done["publication"]["state"] == "opened"


async def test_in_process_server_answers_with_tool_errors_not_crashes(tmp_path: Path) -> None:
    """A handler bug is this call's error: the session survives it (modern in-process path)."""
    settings = parse_settings({"source": {"base-url": "http://127.0.0.1:9", "org": ORG},
                               "state-dir": str(tmp_path / "state")})
    async with Triage(settings, Secrets()) as triage:
        async def broken(ctx: Any, args: Any) -> Any:
            raise RuntimeError("a bug")

        registry = Registry(dataclasses.replace(t, run=broken) if t.name == "list_issues" else t
                            for t in mcp_tools(settings))
        tools = TriageTools(triage, FixJobs(settings), registry)
        async with Client(build_server(tools)) as client:
            crashed = error(await call(client, "list_issues", {}))
            no_token = error(await call(client, "get_issue", {"issue_id": ISSUE}))
    assert crashed == "Error: list_issues failed unexpectedly (RuntimeError: a bug)"
    assert "AUTOFIXER_SENTRY_TOKEN" in no_token


# ---- the MCP Inspector (only where it is already installed: CI must not download it) ----------


def _inspector_available() -> bool:
    if shutil.which("npx") is None:
        return False
    probe = subprocess.run(["npx", "--offline", "-y", "@modelcontextprotocol/inspector", "--help"],
                           capture_output=True, text=True, timeout=60)
    return probe.returncode == 0


@pytest.mark.slow
def test_mcp_inspector_cli_lists_and_calls_tools(config: Path) -> None:
    if not _inspector_available():
        pytest.skip("the MCP Inspector is not in the npx cache (scripts/mcp_inspector_check.sh fetches it)")
    # The Inspector reads options that look like its own (--config, --log-level) anywhere on the
    # line, so the server's configuration goes by environment, and the command comes first.
    base = ["npx", "--offline", "-y", "@modelcontextprotocol/inspector", "--cli",
            "-e", f"AUTOFIXER_SENTRY_TOKEN={SENTRY_TOKEN}", "-e", f"AUTOFIXER_CONFIG={config}",
            sys.executable, "-m", "server.cli", "mcp"]

    def inspector(*method: str) -> dict[str, Any]:
        proc = subprocess.run([*base, *method], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    listed = inspector("--method", "tools/list")
    called = inspector("--method", "tools/call", "--tool-name", "get_issue", "--tool-arg", f"issue_id={ISSUE}")
    refused = inspector("--method", "tools/call", "--tool-name", "read_file", "--tool-arg", f"issue_id={ISSUE}",
                        "--tool-arg", "path=../../etc/passwd")
    assert [t["name"] for t in listed["tools"]] == EXPECTED_TOOLS
    assert called["isError"] is False and called["content"][0]["text"].startswith(f"Issue {ISSUE}")
    assert refused["isError"] is True and "'..' is not allowed" in refused["content"][0]["text"]
