"""The tools `autofixer mcp` serves, declared like the agent's and collected in one registry.

The worktree tools are the agent's own declarations (tools/registry.py), each given an
`issue_id` argument that picks the issue's checkout (`on_issue`). Around them sit the tools only
a person needs, declared here with the same `@tool` over `McpContext`, which holds the services
they use (Sentry through Triage, the forge through publish, the job store): listing and reading
Sentry issues, opening the pull request (instead of the agent's submit_fix), and queueing or
following the autonomous pipeline. `mcp_tools(settings)` is the one list the server renders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from domain import Confidence, Issue
from server.config import Settings
from server.mcp.jobs import FixJobs
from server.mcp.triage import (
    PullRequestRequest,
    Triage,
    TriageError,
    check_issue_id,
    issue_line,
)
from server.pipeline.publish import PublishOutcome
from tools.base import Annotations, Tool, ToolContext, ToolOutcome, reads, tool
from tools.registry import TEST_TOOLS, WORKTREE_TOOLS, Registry


@dataclass(frozen=True)
class McpContext:
    """What the MCP-only tools act on: the session's Sentry issues and worktrees, and the job store."""

    triage: Triage
    jobs: FixJobs


def _issue_id(value: object) -> str:
    try:
        return check_issue_id(value)
    except TriageError as exc:
        raise PydanticCustomError("issue_id", "{reason}", {"reason": str(exc)}) from None


# A Sentry issue id or short id; a JSON number means the same issue. Anything else (slashes,
# "..", spaces) is refused before it reaches a URL or a directory name.
IssueId = Annotated[str, BeforeValidator(_issue_id)]

ISSUE_ID_DESCRIPTION = (
    "The Sentry issue to work on, as list_issues shows it (e.g. \"4242\"). Selects that issue's checkout of the "
    "repository, created on first use at the release's commit or the default branch."
)
OVER_MCP = " Over MCP: finish with open_pull_request (after the person agrees) instead of submit_fix."


# --------------------------------------------------------------------------------------------
# The worktree tools, on an issue's checkout


def _issue_id_first(schema: dict[str, Any]) -> None:
    """issue_id leads the schema: it is the argument a person's model must think of first."""
    properties = schema.get("properties", {})
    schema["properties"] = {"issue_id": properties.pop("issue_id"), **properties}
    schema["required"] = ["issue_id", *(r for r in schema.get("required", []) if r != "issue_id")]


def on_issue_args(args: type[BaseModel]) -> type[BaseModel]:
    """`args` plus the required `issue_id`: a subclass, so a validated value is still an `args`."""

    class OnIssue(args):  # type: ignore[misc, valid-type]
        model_config = ConfigDict(json_schema_extra=_issue_id_first)

        issue_id: IssueId = Field(description=ISSUE_ID_DESCRIPTION)

    OnIssue.__name__ = OnIssue.__qualname__ = f"{args.__name__}OnIssue"
    return OnIssue


def on_issue(inner: Tool[ToolContext, Any]) -> Tool[McpContext, Any]:
    """A worktree tool served over MCP: the same declaration, run on the checkout of the issue
    its `issue_id` names (created on first use)."""

    async def run(ctx: McpContext, args: Any) -> str | ToolOutcome:
        async with ctx.triage.bound(args.issue_id) as ws:
            return await inner.run(ws.ctx, args)

    description = inner.description + ("" if inner.annotations.read_only else OVER_MCP)
    # A new Tool rather than dataclasses.replace: the context type changes (ToolContext → McpContext).
    return Tool(name=inner.name, title=inner.title, description=description, args=on_issue_args(inner.args),
                annotations=inner.annotations, run=run, audience=inner.audience, deterministic=inner.deterministic)


# --------------------------------------------------------------------------------------------
# The tools only a person needs


class _Args(BaseModel):
    # Numbers become strings: a model sending issue_id 4242 rather than "4242" means the same issue.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


SOURCE_ARG = ("Which configured error tracker to ask (its name in `sources:`, e.g. 'sentry', 'datadog', "
              "'rollbar'). Default: the first configured source.")


class ListIssuesArgs(_Args):
    project: str | None = Field(
        default=None, description="Sentry project slug (or numeric id). Default: every project of the organization."
    )
    query: str | None = Field(
        default=None,
        description="Sentry search terms, e.g. 'TypeError' or 'level:error'. Only unresolved issues are listed "
        "unless the query has its own 'is:' term.",
    )
    limit: int = Field(default=25, ge=1, le=100, description="How many issues to list (1-100), newest first.")
    source: str | None = Field(default=None, max_length=40, description=SOURCE_ARG)


class IssueArgs(_Args):
    issue_id: IssueId = Field(description="The Sentry issue, as list_issues shows it (e.g. \"4242\"), or its short id.")


class GetIssueArgs(IssueArgs):
    source: str | None = Field(default=None, max_length=40, description=SOURCE_ARG)


class OpenPullRequestArgs(IssueArgs):
    title: str = Field(min_length=1, max_length=200, description="Pull request title, imperative mood.")
    body: str = Field(
        min_length=1, description="Pull request description (Markdown): the error, the root cause, the fix."
    )
    confidence: Confidence | None = Field(
        default=None,
        description="HIGH: the cause is certain and the change fixes it; MEDIUM (default): likely; LOW: a guess. "
        "Becomes a label; the configured minimum confidence still applies (LOW never opens a pull request).",
    )
    root_cause: str | None = Field(
        default=None, max_length=2000,
        description="The underlying cause in one or two sentences, for the commit message and the pull request's "
        "'Root cause' section. Default: the title.",
    )


class FixStatusArgs(_Args):
    job_id: str = Field(min_length=1, max_length=300, description="The job id run_autofix returned, e.g. "
                        "'sentry:acme:4242'.")


@tool(
    title="List unresolved Sentry issues",
    description="List unresolved issues of the Sentry organization, newest first (last seen): id, short id, "
    "title, culprit, event and user counts, last seen, project.",
    annotations=reads(open_world=True),
    audience="mcp",
)
async def list_issues(ctx: McpContext, args: ListIssuesArgs) -> ToolOutcome:
    issues = await ctx.triage.list_issues(args.project, args.query, args.limit, args.source)
    where = f" in project {args.project}" if args.project else ""
    if not issues:
        search = f"the search {args.query!r}" if args.query else "the default search (unresolved issues)"
        return ToolOutcome(f"No issues{where} match {search}.",
                           data={"issues": []})
    head = f"{len(issues)} issue(s){where}, newest first:"
    rows = [_issue_row(i) for i in issues]
    return ToolOutcome("\n".join([head, *(issue_line(i) for i in issues)]), data={"issues": rows})


@tool(
    title="Show a Sentry issue and its latest event",
    description="Show one Sentry issue: its summary (status, counts, first/last seen, project and repository) "
    "and its latest event, normalised (exception chain, frames with source context, breadcrumbs, request, tags).",
    annotations=reads(open_world=True),
    audience="mcp",
)
async def get_issue(ctx: McpContext, args: GetIssueArgs) -> str:
    return ctx.triage.describe(await ctx.triage.fetch(args.issue_id, args.source))


@tool(
    title="Open a pull request with the staged change",
    description="Open a pull request with the change staged by propose_patch for this issue, through the "
    "configured SCM provider (in dry-run mode it only shows what would be opened). Pushes a fix branch and "
    "creates the PR (an open PR for the same branch is returned instead). Refuses when nothing is staged. Ask "
    "the person before calling it.",
    # The fix branch is force-pushed (destructive); asking again with nothing new staged returns
    # the first answer instead of publishing twice (idempotent).
    annotations=Annotations(read_only=False, destructive=True, idempotent=True, open_world=True),
    audience="mcp",
)
async def open_pull_request(ctx: McpContext, args: OpenPullRequestArgs) -> ToolOutcome:
    request = PullRequestRequest(args.title, args.body, args.confidence or Confidence.MEDIUM, args.root_cause)
    return publish_reply(await ctx.triage.open_pull_request(args.issue_id, request))


def _run_autofix_description(publishes: bool) -> str:
    return (
        "Queue the autonomous fix pipeline for an issue (what a Sentry webhook starts): the running autofixer "
        "service checks the code out, lets its own model investigate and fix it, and records the result"
        + (", opening a pull request when confident enough" if publishes else "")
        + ". An issue has at most one job: calling it again, or after a webhook started one, returns the "
        "existing job. Returns the job id for get_fix_status."
    )


@tool(
    title="Queue the autonomous fix pipeline",
    description=_run_autofix_description(publishes=True),
    # As declared, a queued job may open a pull request by itself; run_autofix_for(settings)
    # says otherwise where the configuration keeps it from doing so.
    annotations=Annotations(read_only=False, destructive=True, idempotent=True, open_world=True),
    audience="mcp",
)
async def run_autofix(ctx: McpContext, args: IssueArgs) -> ToolOutcome:
    # Looked up first: the job id needs Sentry's numeric id (a short id would start a second
    # job beside the webhook's), and an unknown issue is better refused than queued to fail.
    issue = await ctx.triage.issue_details(args.issue_id)
    issue_id = issue.id or args.issue_id
    queued = await ctx.jobs.enqueue(issue_id, project=issue.project, title=issue.title)
    follow = f"get_fix_status(job_id=\"{queued.job_id}\")"
    if queued.created:
        text = (f"Queued the autonomous fix for issue {issue_id} as job {queued.job_id}. The running autofixer "
                f"service executes it; follow it with {follow}.")
    else:
        text = (f"Issue {issue_id} already has a fix job, {queued.job_id} (status {queued.status}); it was not "
                f"queued again. Follow it with {follow}.")
    return ToolOutcome(text, data={"job_id": queued.job_id, "created": queued.created, "status": queued.status})


def run_autofix_for(settings: Settings) -> Tool[McpContext, IssueArgs]:
    """run_autofix as this configuration makes it: a queued job opens a pull request by itself
    only when auto-pr is on and dry-run off; otherwise the tool neither says nor hints it."""
    behavior = settings.behavior
    if behavior.auto_pr and not behavior.dry_run:
        return run_autofix
    return replace(run_autofix, description=_run_autofix_description(publishes=False),
                   annotations=replace(run_autofix.annotations, destructive=False))


@tool(
    title="Show a fix job's state",
    description="Show a fix job's state (queued, running, done, skipped, ignored, failed), its current stage, and when "
    "finished its confidence, pull request URL, cost and root cause.",
    annotations=reads(open_world=False),  # the local job store
    audience="mcp",
)
async def get_fix_status(ctx: McpContext, args: FixStatusArgs) -> ToolOutcome:
    status = await ctx.jobs.status(args.job_id.strip())
    return ToolOutcome(json.dumps(status, indent=2, ensure_ascii=False), data=status)


def _worktree_tools(settings: Settings) -> Registry[ToolContext]:
    """run_tests is served when some project has a `tests:` block (on an issue of another
    project it answers that there are no tests to run)."""
    return TEST_TOOLS if any(p.tests is not None for p in settings.projects) else WORKTREE_TOOLS


def mcp_tools(settings: Settings) -> Registry[McpContext]:
    """Every tool `autofixer mcp` serves, in the order clients list them."""
    return Registry([
        list_issues,
        get_issue,
        *(on_issue(t) for t in _worktree_tools(settings).for_audience("mcp")),
        open_pull_request,
        run_autofix_for(settings),
        get_fix_status,
    ])


# --------------------------------------------------------------------------------------------
# Answers


def publish_reply(outcome: PublishOutcome) -> ToolOutcome:
    """open_pull_request's answer for each PublishOutcome state; skipped and failed are errors
    because the pull request the person asked for was not opened."""
    data = outcome.model_dump(include={"state", "reason", "pr_url", "branch", "title", "pushed"})
    state = outcome.state
    if state in ("opened", "existing"):
        verb = "Opened" if state == "opened" else "A pull request for this fix was already open:"
        return ToolOutcome(f"{verb} {outcome.pr_url} (branch {outcome.branch}).", data=data)
    if state == "dry_run":
        pushed = (f"the branch {outcome.branch} was pushed to the local clone URL only" if outcome.pushed
                  else "nothing was pushed")
        text = (f"Dry run (behavior.dry-run is on): no pull request was opened and {pushed}. It would be, on "
                f"branch {outcome.branch}:\n\nTitle: {outcome.title}\n\n{outcome.body}")
        return ToolOutcome(text, data=data)
    reason = f": {outcome.reason}" if outcome.reason else ""
    return ToolOutcome(f"The pull request was not opened ({state}){reason}", True, data)


def _issue_row(issue: Issue) -> dict[str, Any]:
    return {
        "id": issue.id, "short_id": issue.short_id, "title": issue.title, "culprit": issue.culprit,
        "count": issue.count, "user_count": issue.user_count, "last_seen": issue.last_seen,
        "project": issue.project, "permalink": issue.url,
    }


__all__ = [
    "IssueId",
    "McpContext",
    "mcp_tools",
    "on_issue",
    "on_issue_args",
    "publish_reply",
    "run_autofix_for",
]
