"""Turn a FixResult into a pull request: the confidence gate, the commit, the push, the PR.

The texts (branch, commit message, PR title, labels and body) follow the seed's PR rules and
live in pr_text.py; an open PR for the branch is found, not duplicated. Everything written to
the forge passes through redaction first. Nothing here knows which tracker or forge is
involved: the source names the branch, trailer and link, the forge pushes and opens the request.

Dry run does everything except what would change a forge: no pull request is opened, and the
branch is pushed only when the clone URL is a local path (a mirror on this machine is not a
shared forge, and having the branch there lets you inspect it); the PR that would have been
opened is recorded in the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from common.git import Git, GitError, is_local_url, literal
from domain import Confidence, ErrorEvent, FixResult
from domain.job import PublishOutcome, PublishState
from domain.redact import redactor
from domain.validation import Validation
from scm.base import PullRequestSpec, ScmError, ScmProvider
from server.config import BehaviorConfig, ProjectConfig
from server.pipeline.pr_text import TESTS_FAILING, branch_name, commit_message, pr_body, pr_labels, pr_title
from sources.base import ErrorSource

log = logging.getLogger("autofixer.publish")

__all__ = ["PublishOutcome", "PublishState", "publish"]


def clone_url(project: ProjectConfig, forge: ScmProvider) -> str:
    """The project's override (mirrors, enterprise hosts, local paths) or the forge's URL."""
    return project.clone_url or forge.clone_url(project.scm_repo)


def gate(behavior: BehaviorConfig, fix: FixResult) -> str | None:
    """Why no PR should be opened for this fix, or None when one should."""
    if not fix.changes:
        return "the fix changes no file"
    if fix.confidence is Confidence.LOW:
        return "confidence is LOW: analysis recorded, no pull request"
    if fix.confidence.rank < behavior.min_confidence.rank:
        return f"confidence {fix.confidence.value} is below behavior.min-confidence {behavior.min_confidence.value}"
    if not behavior.auto_pr:
        return "behavior.auto-pr is false: analysis recorded, no pull request"
    return None


async def publish(
    behavior: BehaviorConfig,
    project: ProjectConfig,
    *,
    worktree: Path,
    issue_id: str,
    event: ErrorEvent | None,
    fix: FixResult,
    source: ErrorSource,
    forge: ScmProvider,
    secrets: list[str],
    validation: Validation | None = None,
) -> PublishOutcome:
    """Gate, commit, push and open the PR for `fix`, whose edits are applied in `worktree`;
    `validation` (the validate step's verdict) can keep it from a PR or make it a draft."""
    scrub = redactor(secrets)
    url = clone_url(project, forge)
    branch = branch_name(behavior, source, issue_id)
    issue_url = event.issue_url if event else None
    failing = validation is not None and validation.verdict == "regressions"
    as_draft = failing and project.tests is not None and project.tests.on_failure == "draft"
    title = pr_title(fix, event)
    outcome = PublishOutcome(
        state="skipped", branch=branch, title=scrub(f"[{TESTS_FAILING}] {title}" if as_draft else title),
        body=scrub(pr_body(fix, event, issue_url, source.label, validation)),
        labels=pr_labels(behavior, fix, tests_failing=as_draft),
    )
    if (why := gate(behavior, fix)) is not None:
        outcome.reason = why
        return outcome
    if validation is not None and failing and not as_draft:
        outcome.reason = scrub(f"validation: {validation.reason} ({', '.join(validation.regressions[:5])}); "
                               "no pull request (tests.on-failure: no-pr)")
        return outcome
    dropped = validation.reproduction_test if validation and not validation.kept_reproduction else None
    dry = behavior.dry_run
    try:
        outcome.commit_sha = await asyncio.to_thread(
            _commit, worktree, [c.file for c in fix.changes if c.file != dropped],
            scrub(commit_message(fix, source.commit_trailer(issue_id, issue_url))), behavior.commit_author,
        )
        if not dry or is_local_url(url):
            await forge.push_branch(worktree, branch, url)
            outcome.pushed = True
        if dry:
            outcome.state, outcome.reason = "dry_run", "behavior.dry-run is true: the pull request was not opened"
            return outcome
        pr = await forge.open_pull_request(PullRequestSpec(
            repo=project.scm_repo, head=branch, base=project.default_branch, title=outcome.title,
            body=outcome.body, labels=outcome.labels, draft=behavior.draft or as_draft,
        ))
    except (ScmError, GitError, OSError) as exc:
        outcome.state, outcome.reason = "failed", scrub(_describe(exc))
        log.error("publishing failed: %s", outcome.reason)
        return outcome
    outcome.state = "opened" if pr.created else "existing"
    outcome.pr_url, outcome.pr_number = pr.url, pr.number
    log.info("pull request %s: %s", "opened" if pr.created else "already open", pr.url)
    return outcome


def _commit(worktree: Path, files: list[str], message: str, author: str) -> str:
    name, _, email = author.partition("<")
    git = Git(cwd=worktree, config=(f"user.name={name.strip()}", f"user.email={email.rstrip('>').strip()}"))
    # literal() so a file the model named like a pathspec (":(glob)**") is just a file name.
    git.run("add", "-A", "--", *(literal(f) for f in dict.fromkeys(files)))
    git.run("commit", "-q", "--no-verify", "-F", "-", input=message.encode())
    return git.run("rev-parse", "HEAD").text.strip()


def _describe(exc: Exception) -> str:
    if isinstance(exc, GitError) and not exc.timed_out:
        return f"git {exc.command} failed: {exc.stderr.strip()[:500]}"
    return str(exc)
