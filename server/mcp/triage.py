"""What the MCP tools act on: Sentry issues and, per issue, a checked-out worktree.

A person triaging from Claude Desktop works on a few issues at a time, with several tool calls
each. On its first repository tool call an issue gets a worktree checked out as the autonomous
job would (the release's commit when the release names one, else the head of the default
branch) and a ToolContext holding the parsed event, the project's source root, the base sha
and the edits staged by propose_patch. Both live for the process — one stdio session, or every
client of one HTTP server — and are removed when it exits or after an idle timeout, so an
abandoned triage does not keep a checkout on disk.

Everything returned passes through redaction: tool outputs reach the client's model exactly
as they reach ours in the agent loop, and our tokens must reach neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from domain import Confidence, ErrorEvent, FixResult, Issue
from domain.redact import redactor
from execution.engine import TestEngine
from scm.base import ScmError, git_access
from server import connectors
from server.config import BehaviorConfig, ProjectConfig, Secrets, Settings
from server.pipeline.publish import PublishOutcome, clone_url, publish
from sources.base import ErrorSource, SourceError
from tools.base import ToolContext, ToolError
from tools.patch import worktree_diff
from tools.stacktrace import render_event
from tools.workspace import Workspace, WorkspaceError, Workspaces

log = logging.getLogger("autofixer.mcp")

DEFAULT_IDLE_SECONDS = 30 * 60.0
# Sentry's numeric issue ids, and short ids such as "SHOP-12". Anything else (slashes, "..",
# spaces) is refused before it reaches a URL or a directory name.
_ISSUE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TriageError(ToolError):
    """A failure the person (or their model) should read: like any ToolError, it becomes an
    `isError` result of the tool call."""


def check_issue_id(issue_id: object) -> str:
    # Models sometimes send the numeric id as a JSON number; it means the same issue.
    if isinstance(issue_id, int) and not isinstance(issue_id, bool):
        issue_id = str(issue_id)
    if issue_id is None:
        raise TriageError("issue_id is required: give the id list_issues shows (e.g. '4242')")
    text = issue_id.strip() if isinstance(issue_id, str) else ""
    if not _ISSUE_ID_RE.match(text) or ".." in text:
        raise TriageError(
            f"invalid issue id {issue_id!r}: give the id list_issues shows (e.g. '4242') or a short id "
            "such as 'SHOP-12'"
        )
    return text


@dataclass(frozen=True)
class IssueData:
    """An issue's details and its latest event, normalised."""

    issue_id: str  # the tracker's own id, whatever form the caller used
    issue: Issue
    event: ErrorEvent
    source: str = ""  # the configured source it came from ("": the first)

    @property
    def project_slug(self) -> str | None:
        return self.issue.project or self.event.project


@dataclass
class IssueWorkspace:
    """One issue's checkout and tool context, used by one tool call at a time."""

    issue_id: str
    project: ProjectConfig
    workspace: Workspace
    ctx: ToolContext
    stack: AsyncExitStack  # closing it removes the worktree
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = 0.0
    closed: bool = False
    # (number of staged edits, outcome) of the last publish that succeeded: asking again with
    # nothing new staged returns it instead of committing and pushing an empty change.
    published: tuple[int, PublishOutcome] | None = None


Publish = Callable[..., Awaitable[PublishOutcome]]  # server.pipeline.publish.publish, or a stand-in in tests


class Triage:
    """Sentry look-ups and per-issue worktrees for the MCP tools (`async with Triage(...)`)."""

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        *,
        idle_timeout: float = DEFAULT_IDLE_SECONDS,
        workspaces: Workspaces | None = None,
        clock: Callable[[], float] = time.monotonic,
        engine: TestEngine | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.idle_timeout = idle_timeout
        # No spare worktrees: they speed up the service's next job, not an interactive session.
        self.workspaces = workspaces or Workspaces(settings.state_dir, prewarm=False)
        self.redact = redactor(secrets.values())
        self.sources = connectors.build_sources(settings, secrets)
        # The worktree tools work on the first source's issues; list_issues and get_issue take any.
        self.source = next(iter(self.sources.values()))
        self.forges = connectors.build_forges(settings, secrets)
        # run_tests on a project with `tests:`; environments are shared with the service's jobs.
        self.engine = engine or TestEngine(settings.state_dir, settings.sandbox)
        self._clock = clock
        self._open: dict[str, IssueWorkspace] = {}  # by Sentry's numeric issue id
        self._alias: dict[str, str] = {}  # what the caller typed → numeric id
        self._opening: dict[str, asyncio.Lock] = {}
        self._reaper: asyncio.Task[None] | None = None
        # Worktree names must not collide with the service's job worktrees (`sentry:<org>:<id>`),
        # which it would delete as crash leftovers, nor with another MCP process's.
        self._prefix = f"mcp-{os.getpid()}"

    async def __aenter__(self) -> Triage:
        # Sessions killed without a clean exit (Claude Desktop often does) leave checkouts behind.
        await asyncio.to_thread(self.workspaces.sweep, jobs=False)
        if self.idle_timeout > 0:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for issue_id in list(self._open):
            await self._close(issue_id, only_if_idle=False)
        await self.workspaces.aclose()

    # ---- the error source ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _asking(self) -> AsyncIterator[None]:
        """Every failure of the source inside becomes a TriageError with its reason."""
        try:
            yield
        except SourceError as exc:
            raise TriageError(f"no such issue: {exc.reason}" if exc.not_found else exc.reason) from None

    def source_named(self, name: str | None) -> ErrorSource:
        """The configured source `name`; None: the first (the only one, usually)."""
        if name is None:
            return self.source
        found = self.sources.get(name)
        if found is None:
            raise TriageError(f"no source named {name[:60]!r}: configured are {', '.join(self.sources)}")
        return found

    async def list_issues(self, project: str | None, query: str | None, limit: int,
                          source: str | None = None) -> list[Issue]:
        chosen = self.source_named(source)
        async with self._asking():
            return await chosen.list_issues(project, query, limit)

    async def issue_details(self, issue_id: str) -> Issue:
        issue_id = check_issue_id(issue_id)
        async with self._asking():
            return self.source.parse_issue(await self.source.fetch_issue(issue_id))

    async def fetch(self, issue_id: str, source: str | None = None) -> IssueData:
        """An issue's details and latest event, fetched together."""
        issue_id = check_issue_id(issue_id)
        chosen = self.source_named(source)
        async with self._asking():
            # return_exceptions: when one fails, the other still finishes; the failure is then
            # raised inside the block, which turns it into a TriageError.
            results = await asyncio.gather(chosen.fetch_issue(issue_id), chosen.fetch_event(issue_id),
                                           return_exceptions=True)
            raw_issue, raw_event = (_unwrap(result) for result in results)
        issue = chosen.parse_issue(raw_issue)
        numeric = issue.id or issue_id  # a short id (SHOP-12) resolves to the tracker's own id
        event = chosen.parse_event(raw_event, numeric)
        # The issue's project and link are authoritative; older events do not name theirs.
        update = {"project": issue.project or event.project, "issue_url": issue.url or event.issue_url}
        return IssueData(numeric, issue, event.model_copy(update=update), chosen.name)

    def project_for(self, data: IssueData) -> ProjectConfig | None:
        return self.settings.project_for(data.project_slug, data.source or self.source.name)

    def describe(self, data: IssueData) -> str:
        """get_issue's text: a summary, then the event as `autofixer event show` prints it."""
        return self.redact(issue_summary(data, self.project_for(data)) + "\nLatest event:\n" + render_event(data.event))

    # ---- worktrees -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def bound(self, issue_id: str) -> AsyncIterator[IssueWorkspace]:
        """The issue's workspace (created on first use), held exclusively for one tool call."""
        issue_id = check_issue_id(issue_id)
        while True:
            ws = await self._workspace(issue_id)
            async with ws.lock:
                if ws.closed:  # the idle reaper got it between lookup and lock: make a new one
                    continue
                ws.last_used = self._clock()
                try:
                    yield ws
                finally:
                    ws.last_used = self._clock()
                return

    def open_issues(self) -> list[str]:
        return sorted(self._open)

    async def _workspace(self, issue_id: str) -> IssueWorkspace:
        found = self._open.get(self._alias.get(issue_id, issue_id))
        if found is not None:
            return found
        async with self._opening.setdefault(issue_id, asyncio.Lock()):
            found = self._open.get(self._alias.get(issue_id, issue_id))
            if found is not None:  # another call created it while we waited
                return found
            ws = await self._create(issue_id)
            self._alias[issue_id] = ws.issue_id
            existing = self._open.get(ws.issue_id)
            if existing is not None:  # the same issue opened under another of its ids
                await ws.stack.aclose()
                return existing
            self._open[ws.issue_id] = ws
            log.info("issue %s: worktree %s at %s", ws.issue_id, ws.workspace.path, ws.workspace.base_sha[:12])
            return ws

    async def _create(self, issue_id: str) -> IssueWorkspace:
        data = await self.fetch(issue_id)
        project = self.project_for(data)
        if project is None:
            raise TriageError(
                f"issue {data.issue_id} belongs to {self.source.label} project {data.project_slug or '(unknown)'!r}, "
                "which is not in projects[] of the configuration, so there is no repository to work on; add it there"
            )
        forge = self.forges[self.settings.scm_of(project)]
        url = clone_url(project, forge)
        stack = AsyncExitStack()
        try:
            workspace = await stack.enter_async_context(self.workspaces.checkout(
                url, project.default_branch, f"{self._prefix}-{data.issue_id}",
                release=data.event.release, **await git_access(forge),
            ))
        except (WorkspaceError, ScmError) as exc:
            await stack.aclose()
            raise TriageError(f"could not check out {project.scm_repo}: {exc}") from None
        ctx = ToolContext(worktree=workspace.path, event=data.event, source_root=project.source_root,
                          base_sha=workspace.base_sha, policy=project.patch_policy,
                          engine=self.engine if project.tests is not None else None, tests=project.tests,
                          repo_key=self.settings.repo_key(project))
        return IssueWorkspace(data.issue_id, project, workspace, ctx, stack, last_used=self._clock())

    async def reap_idle(self) -> list[str]:
        """Remove the worktrees of issues unused for `idle_timeout` seconds; returns their ids."""
        closed = [i for i in list(self._open) if await self._close(i, only_if_idle=True)]
        if closed:
            log.info("removed idle worktree(s) of issue(s) %s", ", ".join(closed))
        return closed

    async def _close(self, issue_id: str, *, only_if_idle: bool) -> bool:
        ws = self._open.get(issue_id)
        if ws is None or (only_if_idle and (ws.lock.locked() or not self._idle(ws))):
            return False
        async with ws.lock:
            if only_if_idle and not self._idle(ws):  # used while we waited for the lock
                return False
            self._open.pop(issue_id, None)
            ws.closed = True
            await ws.stack.aclose()
        return True

    def _idle(self, ws: IssueWorkspace) -> bool:
        return self._clock() - ws.last_used >= self.idle_timeout

    async def _reap_forever(self) -> None:
        # Checking a few times per timeout keeps a worktree at most ~25 % past its deadline.
        interval = max(0.05, min(60.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap_idle()
            except Exception:  # a failed removal must not stop later ones
                log.exception("removing idle worktrees failed")

    # ---- pull request ----------------------------------------------------------------------

    async def open_pull_request(self, issue_id: str, request: PullRequestRequest,
                                publish: Publish = publish) -> PublishOutcome:
        """Publish the staged patch through the configured SCM provider (dry-run respected)."""
        async with self.bound(issue_id) as ws:
            if not ws.ctx.applied:
                raise TriageError(
                    f"nothing is staged for issue {ws.issue_id}: make the change with propose_patch first, "
                    "then open the pull request"
                )
            if ws.published is not None and ws.published[0] == len(ws.ctx.applied):
                return ws.published[1]
            fix = await self._fix_result(ws, request)
            # The worktree's HEAD is still the base commit (or the last publish's commit, which
            # holds earlier edits): publish commits what is staged on top of it.
            outcome = await publish(self._behavior_for_person(), ws.project, worktree=ws.ctx.worktree,
                                    issue_id=ws.issue_id, event=ws.ctx.event, fix=fix, source=self.source,
                                    forge=self.forges[self.settings.scm_of(ws.project)], secrets=self.secrets.values())
            if outcome.state in ("opened", "existing", "dry_run"):
                ws.published = (len(ws.ctx.applied), outcome)
            return outcome

    async def _fix_result(self, ws: IssueWorkspace, request: PullRequestRequest) -> FixResult:
        files = list(dict.fromkeys(c.file for c in ws.ctx.applied))
        diff = await asyncio.to_thread(worktree_diff, ws.ctx.worktree, files, ws.workspace.base_sha)
        if not diff.strip():
            raise TriageError(f"the staged edits for issue {ws.issue_id} cancel out: there is no change to propose")
        # The person's body is the analysis publish lays out; passing it as pr_body as well
        # would print it twice in the pull request.
        return FixResult(
            analysis=self.redact(request.body), root_cause=self.redact(request.root_cause or _subject(request.title)),
            confidence=request.confidence, changes=list(ws.ctx.applied), diff=diff,
            pr_title=self.redact(request.title), pr_body="",
        )

    def _behavior_for_person(self) -> BehaviorConfig:
        """behavior.auto-pr governs pull requests opened without asking; a person asking for one
        is not that, so it does not apply here (the confidence gate and dry-run still do)."""
        return self.settings.behavior.model_copy(update={"auto_pr": True})


@dataclass(frozen=True)
class PullRequestRequest:
    """What the person (or their model) gives open_pull_request."""

    title: str
    body: str
    confidence: Confidence = Confidence.MEDIUM
    root_cause: str | None = None  # default: the title without its "fix:" prefix


def _subject(title: str) -> str:
    return re.sub(r"^\s*fix(\([^)]*\))?:\s*", "", title, flags=re.IGNORECASE).strip() or title.strip()


def issue_line(issue: Issue) -> str:
    """One list_issues entry: id, short id, title, then culprit, counts, last seen, project."""
    facts = [("culprit", issue.culprit), ("events", issue.count), ("users", issue.user_count),
             ("last seen", issue.last_seen), ("project", issue.project)]
    shown = " · ".join(f"{k}: {_one_line(v)}" for k, v in facts if v not in (None, ""))
    short = f" ({issue.short_id})" if issue.short_id else ""
    return f"- {issue.id}{short}: {_one_line(issue.title) or '(untitled)'}\n  {shown}"


def issue_summary(data: IssueData, project: ProjectConfig | None) -> str:
    issue = data.issue
    short = f" ({issue.short_id})" if issue.short_id else ""
    lines = [f"Issue {data.issue_id}{short}: {_one_line(issue.title or data.event.title)}"]
    facts = [("status", issue.status), ("level", issue.level), ("events", issue.count), ("users", issue.user_count),
             ("first seen", issue.first_seen), ("last seen", issue.last_seen)]
    lines.append(" · ".join(f"{k}: {_one_line(v)}" for k, v in facts if v not in (None, "")))
    if issue.culprit:
        lines.append(f"culprit: {_one_line(issue.culprit)}")
    if project is not None:
        lines.append(f"project: {project.source_project} → repository {project.scm_repo} "
                     f"(branch {project.default_branch}); the repository tools work on it")
    else:
        lines.append(f"project: {data.project_slug or '(unknown)'} — not in projects[] of the configuration, "
                     "so the repository tools cannot be used for this issue")
    if issue.url:
        lines.append(f"link: {issue.url}")
    return "\n".join(lines) + "\n"


def _unwrap(result: dict[str, Any] | BaseException) -> dict[str, Any]:
    if isinstance(result, BaseException):
        raise result
    return result


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())[:300] if value is not None else ""


__all__ = [
    "DEFAULT_IDLE_SECONDS",
    "IssueData",
    "IssueWorkspace",
    "PullRequestRequest",
    "Triage",
    "TriageError",
    "check_issue_id",
    "issue_line",
    "issue_summary",
]
