"""The `validate` step: the pipeline re-runs the fix's tests itself, never trusting the agent's report.

After the agent submits and before anything is published, for a project with `tests:`:

  a. the reproduction test on the BASE tree: the fix's source changes reverted for this run only
     (`overrides` = each changed file's content at the base commit; the new test present).
     Expected to FAIL, with the event's exception type in the failure text;
  b. the reproduction test on the fixed tree: expected to PASS;
  c. the configured suite on the fixed tree; only when it fails, the suite again on the base tree,
     so each failure is classified: failing before the fix too (pre-existing, named in the PR)
     or new (a regression: no PR, or a draft marked "tests failing").

Files the fix created that are not tests stay present in the base run (a run can replace files,
not remove them); nothing in the base tree imports them, so they do not change its behaviour.

The verdict and what it does to the fix are in domain/validation.py. Whatever happens (no sandbox,
an environment that cannot be built, a bug here), the result is a `Validation`, never an
exception: a fix that could not be validated is capped at MEDIUM with the reason, never silently HIGH.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from dbos import DBOS

from common.git import Git, GitError
from domain import ErrorEvent, FixResult
from domain.redact import redact_obj
from domain.validation import MAX_LISTED, TestRun, Validation
from execution.config import TestsConfig
from execution.engine import EnvironmentBuildError, ExecutionUnavailable, TestEngine
from execution.report import TestReport, TestSelection
from server.pipeline.services import services
from tools.policy import TestFilePolicy

log = logging.getLogger("autofixer.validate")


def reproduction_test(fix: FixResult, tests: TestsConfig) -> tuple[str | None, str]:
    """The new test file that reproduces the error, and why there is none when there is none: the
    one submit_fix named, if the fix created it as a test; else the only test the fix created."""
    policy = TestFilePolicy(runner=tests.runner, test_dir=tests.test_dir)
    created = list(dict.fromkeys(c.file for c in fix.changes if not c.original and policy.is_test(c.file)))
    named = (fix.reproduction_test or "").strip().removeprefix("./")
    if named:
        if named in created:
            return named, ""
        return None, f"submit_fix named {named} as the reproduction test, but the fix did not create it"
    if len(created) == 1:
        return created[0], ""
    if not created:
        return None, "the fix adds no test that reproduces the error"
    return None, f"the fix adds {len(created)} tests and submit_fix named none of them as the reproduction test"


def base_overrides(worktree: Path, base_sha: str, fix: FixResult) -> dict[str, str]:
    """Each file the fix changed (not created) → its content at the base commit."""
    created = {c.file for c in fix.changes if not c.original}
    git = Git(cwd=worktree)
    return {path: git.run("show", f"{base_sha}:{path}").text
            for path in dict.fromkeys(c.file for c in fix.changes) if path not in created}


def summarize(report: TestReport) -> TestRun:
    failures = [f"{f.id}: {f.message}".rstrip(": ") for f in report.failures[:MAX_LISTED]]
    return TestRun(command=report.command, passed=report.passed, failed=report.failed, errors=report.errors,
                   skipped=report.skipped, seconds=round(report.seconds, 2), exit_code=report.exit_code,
                   limit=report.limit, error=report.error, failures=failures,
                   failing_ids=[f.id for f in report.failures], ok=report.ok)


def _mentions(report: TestReport, exception: str) -> bool:
    text = "\n".join([report.output_tail, *(f"{f.message}\n{f.details}" for f in report.failures)])
    return bool(exception) and exception in text


def decide(*, repro: str | None, why_no_repro: str, exception: str, before: TestReport | None,
           after: TestReport | None, suite: TestReport, suite_at_base: TestReport | None) -> Validation:
    """The verdict from the runs' reports (pure: see the module docstring for the runs)."""
    runs: dict[str, Any] = {
        "reproduction_test": repro, "suite": summarize(suite),
        "before": summarize(before) if before else None, "after": summarize(after) if after else None,
        "suite_at_base": summarize(suite_at_base) if suite_at_base else None,
        "environment": suite.environment, "sandbox": suite.sandbox,
    }
    if suite.error is not None:
        return Validation(verdict="unavailable", reason=f"the tests could not run: {suite.error}", **runs)
    if not suite.ok:
        base_ids = {f.id for f in suite_at_base.failures} if suite_at_base else set()
        new = [f.id for f in suite.failures if f.id not in base_ids]
        old = [f.id for f in suite.failures if f.id in base_ids]
        if not new and _worse_without_names(suite, suite_at_base):
            new = [f"the test command ({summarize(suite).counts()})"]
        if new:
            return Validation(verdict="regressions", regressions=new[:MAX_LISTED], preexisting=old[:MAX_LISTED],
                              reason=f"{len(new)} test(s) fail after the fix that did not fail before it", **runs)
        runs["preexisting"] = old[:MAX_LISTED]
    if repro is None or before is None or after is None:
        return Validation(verdict="not_reproduced", reason=why_no_repro or "no reproduction test ran", **runs)
    exception = exception.rsplit(".", 1)[-1]  # builtins.TypeError, shop.errors.OrderError: the class name
    seen = _mentions(before, exception)
    if before.ok:
        why = f"{repro} passes without the fix, so it does not reproduce the error"
    elif before.error or before.limit:
        why = f"{repro} did not complete without the fix ({summarize(before).counts()})"
    elif exception and not seen:
        why = f"{repro} fails without the fix, but not with the event's {exception}"
    elif not after.ok:
        why = f"{repro} still fails with the fix ({summarize(after).status()})"
    else:
        return Validation(verdict="validated", exception_seen=seen, reason=(
            f"{repro} fails without the fix{f' with {exception}' if exception else ''} and passes with it; "
            "no test broke"), **runs)
    return Validation(verdict="not_reproduced", exception_seen=seen, reason=why, **runs)


def _worse_without_names(suite: TestReport, at_base: TestReport | None) -> bool:
    """The suite failed without naming a new failing test (a collection error, a limit, the
    exit-code runner, more failures than a report lists) where it had passed, finished, or
    failed less before the fix."""
    if at_base is None or at_base.ok:
        return True
    if suite.limit is not None and at_base.limit is None:
        return True
    return suite.failed + suite.errors > at_base.failed + at_base.errors


async def validate(engine: TestEngine | None, tests: TestsConfig, repo_key: str, worktree: Path, base_sha: str,
                   event: ErrorEvent, fix: FixResult) -> Validation:
    """Run the reproduction test before and after the fix and the suite (see the module docstring)."""
    started = time.monotonic()
    result = await _validate(engine, tests, repo_key, worktree, base_sha, event, fix)
    return result.model_copy(update={"claimed_confidence": fix.confidence, "kept_reproduction": tests.keep_reproduction,
                                     "seconds": round(time.monotonic() - started, 2)})


async def _validate(engine: TestEngine | None, tests: TestsConfig, repo_key: str, worktree: Path, base_sha: str,
                    event: ErrorEvent, fix: FixResult) -> Validation:
    repro, why_no_repro = reproduction_test(fix, tests)
    if engine is None:
        return Validation(verdict="unavailable", reason="this service has no test engine", reproduction_test=repro)
    if (why := engine.unavailable()) is not None:
        return Validation(verdict="unavailable", reason=why, reproduction_test=repro)
    try:
        environment = await engine.prepare(repo_key, worktree, tests)
        overrides = base_overrides(worktree, base_sha, fix)
        before = after = None
        if repro is not None:
            only = TestSelection(tests=[repro])
            before = await engine.run(worktree, tests, environment, only, overrides=overrides)
            after = await engine.run(worktree, tests, environment, only)
        suite = await engine.run(worktree, tests, environment)
        at_base = None if suite.ok or suite.error else await engine.run(worktree, tests, environment,
                                                                          overrides=overrides)
    except EnvironmentBuildError as exc:
        return Validation(verdict="unavailable", reason=f"the environment could not be built: {exc}",
                          reproduction_test=repro)
    except (ExecutionUnavailable, GitError, OSError) as exc:
        return Validation(verdict="unavailable", reason=str(exc) or type(exc).__name__, reproduction_test=repro)
    except Exception as exc:  # a bug in the engine must cost the fix its validation, not the job
        log.exception("validation failed")
        return Validation(verdict="unavailable", reason=f"internal error: {type(exc).__name__}: {exc}",
                          reproduction_test=repro)
    return decide(repro=repro, why_no_repro=why_no_repro, exception=event.error_type or "", before=before,
                  after=after, suite=suite, suite_at_base=at_base).model_copy(
        update={"environment": environment.description or suite.environment})


@DBOS.step(name="validate")
async def _validate_step(tests: dict[str, Any], repo_key: str, worktree: str, base_sha: str, event: dict[str, Any],
                         fix: dict[str, Any]) -> dict[str, Any]:
    svc = services()
    result = await validate(svc.engine, TestsConfig.model_validate(tests), repo_key, Path(worktree), base_sha,
                            ErrorEvent.model_validate(event), FixResult.model_validate(fix))
    log.info("validation ran: %s (%s)", result.verdict, result.reason)  # here: a replayed step logs nothing
    # Test output may echo event data: the checkpoint is stored, so it is redacted like the rest.
    return redact_obj(result.model_dump(mode="json"), svc.secrets.values())


async def validate_step(tests: TestsConfig, repo_key: str, worktree: Path, base_sha: str, event: ErrorEvent,
                        fix: FixResult) -> Validation:
    """Validation, checkpointed once: a recovered job gets the recorded verdict back, never a re-run."""
    recorded = await _validate_step(tests.model_dump(mode="json"), repo_key, str(worktree), base_sha,
                                    event.model_dump(mode="json"), fix.model_dump(mode="json"))
    return Validation.model_validate(recorded)
