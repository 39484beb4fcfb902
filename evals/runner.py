"""Running an eval: every selected case, `repeat` times, through the real agent and tools.

One case run = one isolated worktree (evals/sandbox.py) without the test files holding the
FAIL_TO_PASS tests (production has no regression test to read) → the case's setup → `run_agent`
with the real tool registry and the chosen provider → the hidden test files, and any test file
the run edited, are put back as the case ships them (a fix that rewrites the tests proves
nothing) → the case's tests → a scored `CaseResult`.

Runs go in parallel up to `jobs` at a time (an asyncio semaphore; the agent's tools and the
tests already run in threads and subprocesses). A failure of the harness itself (a setup
command, a broken gold patch, a crash) is caught and recorded against that one run, so one
bad case never loses the rest of an expensive run.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from agent.loop import Limits, Progress, prompt_version, run_agent
from agent.provider import ModelProvider
from agent.replay_provider import ReplayProvider
from agent.transcript import Transcript, read_transcript
from domain import FileChange, FixResult
from evals.case import DEFAULT_CASES_DIR, Case
from evals.goldpatch import GoldPatchError, gold_edits, patch_paths
from evals.llms import LIVE_LLMS, LLM_CHOICES
from evals.localisation import Localisation, changed_functions, localise
from evals.progress import ProgressDisplay
from evals.providers_offline import NullProvider, OracleProvider
from evals.replays import DEFAULT_RECORDINGS_DIR, find_recording, has_recordings
from evals.report import markdown_report
from evals.runfile import (
    DEFAULT_RUNS_DIR,
    REPORT_FILE,
    RunFile,
    RunMeta,
    checkout_commit,
    log_rel,
    transcript_rel,
    write_run,
)
from evals.sandbox import Sandbox, SandboxError, changed_files, create_sandbox, file_at_base, restore_files, run_setup
from evals.scoring import CaseResult, Status, is_resolved, summarise, verdict
from evals.testrunners import SuiteOutcome, run_case_tests
from tools.base import ToolContext
from tools.registry import WORKTREE_TOOLS

_UNSCORED_STATUS: dict[str, Status] = {"stale": "stale_recording", "missing": "no_recording"}


class EvalUnavailable(Exception):
    """The run cannot start (no key, no such provider, no cases); the message says what to do."""


@dataclass
class EvalConfig:
    llm: str | None = None  # None: replay when recordings exist for the selected cases, else oracle
    model: str | None = None
    base_url: str | None = None
    cases_dir: Path = DEFAULT_CASES_DIR
    cases_glob: str = "*"
    repeat: int = 1
    jobs: int = 1
    out: Path | None = None
    recordings_dir: Path = DEFAULT_RECORDINGS_DIR
    limits: Limits = field(default_factory=lambda: Limits.model_validate({}))
    keep_worktrees: bool = False
    progress_stream: TextIO | None = None
    progress_tty: bool | None = None


def default_llm(cases: list[Case], recordings_dir: Path) -> str:
    return "replay" if has_recordings(recordings_dir, [c.id for c in cases]) else "oracle"


def live_provider(llm: str, model: str | None, base_url: str | None) -> tuple[ModelProvider, list[str]]:
    """The live provider, built by the service's own registry, and the secrets to redact from
    everything it touches."""
    from agent.provider import ProviderUnavailable
    from agent.settings import LlmConfig
    from common.config import ConnectorContext
    from server import connectors
    from server.config import Secrets

    if llm not in connectors.names("provider"):
        raise EvalUnavailable(f"--llm {llm} is not available yet: autofixer has no such provider (use "
                              f"{', '.join(connectors.names('provider'))}, oracle or null)")
    config = LlmConfig(provider=llm, base_url=base_url, **({"model": model} if model else {}))
    secrets = Secrets()
    try:
        provider = connectors.build_provider(config, ConnectorContext(env=secrets.get))
    except ProviderUnavailable as exc:
        raise EvalUnavailable(f"--llm {llm}: {exc}") from None
    return provider, secrets.values()


def new_run_dir(llm: str, out: Path | None) -> Path:
    if out is not None:
        if out.exists() and any(out.iterdir()):
            # Transcripts append, so reusing a directory would splice two runs together.
            raise EvalUnavailable(f"--out {out} exists and is not empty; choose a new directory")
        out.mkdir(parents=True, exist_ok=True)
        return out
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = DEFAULT_RUNS_DIR / f"{stamp}-{llm}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def gold_owned(case: Case) -> set[str]:
    """Files the gold patch changes: the fix may edit them, even when they are tests."""
    return patch_paths(case.gold_patch.read_text(encoding="utf-8"))


def tests_to_hide(case: Case) -> list[str]:
    """The files holding FAIL_TO_PASS tests, unless the case opts out or the fix must edit them."""
    if not case.spec.hide_tests:
        return []
    owned = gold_owned(case)
    return [f for f in case.fail_to_pass_files if f not in owned]


class EvalRun:
    """One `autofixer eval` invocation over a fixed list of cases."""

    def __init__(self, config: EvalConfig, cases: list[Case], run_dir: Path) -> None:
        self.config = config
        self.cases = cases
        self.run_dir = run_dir
        self.llm = config.llm or default_llm(cases, config.recordings_dir)
        self.prompt_version = prompt_version(WORKTREE_TOOLS)
        self.secrets: list[str] = []
        self.shared_provider: ModelProvider | None = None
        if self.llm in LIVE_LLMS:
            self.shared_provider, self.secrets = live_provider(self.llm, config.model, config.base_url)
        elif self.llm == "null":
            self.shared_provider = NullProvider()
        elif self.llm not in ("replay", "oracle"):
            raise EvalUnavailable(f"unknown --llm {self.llm!r} (choose from {', '.join(LLM_CHOICES)})")
        self.results: list[CaseResult] = []
        self.meta = RunMeta(
            run_id=run_dir.name, llm=self.llm, model=self._model_name(), label=self._label(),
            prompt_version=self.prompt_version, started_at=_now(), repeat=config.repeat, jobs=config.jobs,
            cases_dir=str(config.cases_dir), cases_glob=config.cases_glob, limits=config.limits.model_dump(),
            autofixer_commit=checkout_commit(),
        )
        self.progress = ProgressDisplay(len(cases) * config.repeat, config.progress_stream, config.progress_tty)
        self._gold: dict[str, list[FileChange] | GoldPatchError] = {}

    def _model_name(self) -> str:
        if self.shared_provider is not None:
            return self.shared_provider.model
        return {"replay": "replay (recorded turns)", "oracle": "oracle:gold.patch"}[self.llm]

    def _label(self) -> str:
        return {
            "oracle": "ORACLE — the gold patch played through propose_patch and submit_fix (no model)",
            "null": "NULL baseline — submits no change with LOW confidence (no model)",
            "replay": f"REPLAYED — recorded model turns from {self.config.recordings_dir} (no live model)",
        }.get(self.llm, f"{self.llm} {self._model_name()} (live)")

    # --- the run ---------------------------------------------------------------------------------

    async def run(self) -> RunFile:
        semaphore = asyncio.Semaphore(max(1, self.config.jobs))

        async def one(case: Case, repeat: int) -> None:
            async with semaphore:
                key = f"{case.id} #{repeat}"
                self.progress.started(key)
                result = await self.run_case(case, repeat, key)  # never raises: see run_case
                self.results.append(result)
                self.progress.finished(key, result)
                self._write()  # after every case: a long run interrupted keeps what it finished

        try:
            # return_exceptions: should anything still escape one case, the others run to the
            # end instead of being cancelled half-way (and it is raised once they have).
            outcomes = await asyncio.gather(
                *(one(c, r) for c in self.cases for r in range(1, self.config.repeat + 1)), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        finally:
            self.progress.close()
            self.meta.finished_at = _now()
            self._write()
        return self.runfile()

    def runfile(self) -> RunFile:
        results = sorted(self.results, key=lambda r: (r.case_id, r.repeat))
        return RunFile(run=self.meta, summary=summarise(results), results=results)

    def _write(self) -> None:
        run = self.runfile()
        write_run(self.run_dir, run)
        (self.run_dir / REPORT_FILE).write_text(markdown_report(run), encoding="utf-8")

    # --- one case, one repeat ----------------------------------------------------------------------

    async def _provider(self, case: Case, result: CaseResult) -> ModelProvider | None:
        """The provider for this case, or None with `result` saying why the case is not scored."""
        if self.shared_provider is not None:
            return self.shared_provider
        if self.llm == "oracle":
            if case.id not in self._gold:
                try:  # copies the repository and runs git apply: off the event loop
                    self._gold[case.id] = await asyncio.to_thread(gold_edits, case.repo_dir, case.gold_patch)
                except GoldPatchError as exc:
                    self._gold[case.id] = exc
            gold = self._gold[case.id]
            if isinstance(gold, GoldPatchError):
                result.detail = f"the gold patch cannot be played: {gold}"
                return None
            return OracleProvider(case.id, gold)
        lookup = find_recording(self.config.recordings_dir, case.id, self.prompt_version)
        if lookup.recording is None:
            result.status = _UNSCORED_STATUS.get(lookup.status, "error")
            result.detail = lookup.detail
            return None
        return ReplayProvider(lookup.recording)

    async def run_case(self, case: Case, repeat: int, key: str) -> CaseResult:
        """Run and score one case. It never raises (cancellation aside): whatever goes wrong, from
        reading the gold patch to scoring, is this case's `error` with the reason, because an
        exception escaping into `gather` would lose the finished results and cancel the other
        cases mid-run."""
        started = time.monotonic()
        result = CaseResult(case_id=case.id, repeat=repeat, status="error",
                            expected_confidence=case.spec.expected_confidence)
        log: list[str] = []
        sandbox: Sandbox | None = None
        try:
            provider = await self._provider(case, result)
            if provider is None:
                return result
            result.provider = getattr(provider, "label", None) or f"{provider.name} {provider.model}"
            sandbox = await create_sandbox(case.repo_dir, f"{case.id}-r{repeat}", tests_to_hide(case))
            result.tests_hidden = sandbox.hidden
            for command in await run_setup(sandbox, case.spec.setup):
                log.append(f"$ {' '.join(command.argv)}  (exit {command.returncode})\n{command.output}")
            self.progress.update(key, "agent")
            fix = await self._agent(case, repeat, key, provider, sandbox, result)
            self.progress.update(key, "tests")
            await self._score(case, sandbox, fix, result, log)
        except (SandboxError, GoldPatchError) as exc:
            result.status, result.detail = "error", str(exc)
        except Exception as exc:  # a harness or tool bug: record it against this run, keep going
            result.status = "error"
            result.detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        finally:
            if sandbox is not None and not self.config.keep_worktrees:
                sandbox.cleanup()  # synchronous: it must also happen when the run is being cancelled
            elif sandbox is not None:
                log.append(f"worktree kept at {sandbox.worktree}")
            result.wall_seconds = round(time.monotonic() - started, 3)
            self._write_log(case.id, repeat, log, result)
        return result

    async def _agent(
        self, case: Case, repeat: int, key: str, provider: ModelProvider, sandbox: Sandbox, result: CaseResult
    ) -> FixResult:
        ctx = ToolContext(worktree=sandbox.worktree, event=case.event, source_root=case.spec.source_root,
                          base_sha=sandbox.base_sha)
        rel = transcript_rel(case.id, repeat)
        result.transcript = rel

        def on_progress(p: Progress) -> None:
            self.progress.update(key, f"step {p.step}{f' {p.tool}' if p.tool else ''}", throttle=True)

        started = time.monotonic()
        with Transcript(self.run_dir / rel, secrets=self.secrets) as transcript:
            fix = await run_agent(provider, WORKTREE_TOOLS, ctx, limits=self.config.limits, transcript=transcript,
                                  on_progress=on_progress, secrets=self.secrets)
        result.agent_seconds = round(time.monotonic() - started, 3)
        result.usage = fix.usage
        result.exit_reason = fix.exit_reason
        result.confidence = fix.confidence
        result.root_cause = fix.root_cause
        result.pr_title = fix.pr_title
        result.diff = fix.diff
        result.patch_applied = bool(fix.changes)
        return fix

    async def _score(self, case: Case, sandbox: Sandbox, fix: FixResult, result: CaseResult, log: list[str]) -> None:
        changed = await changed_files(sandbox)
        result.files_changed = changed
        owned = gold_owned(case)
        result.tests_restored = [f for f in case.test_files if f in changed and f not in owned]
        # The hidden files come back whatever the run did; one it created there is listed above.
        await restore_files(sandbox, sorted({*result.tests_restored, *sandbox.hidden}))

        started = time.monotonic()
        suite: SuiteOutcome = await run_case_tests(case, sandbox.worktree)
        result.test_seconds = round(time.monotonic() - started, 3)
        for command, output in zip(suite.commands, suite.full_output, strict=True):
            log.append(f"$ {' '.join(command.argv)}  (exit {command.returncode})\n{output}")
        result.test_commands = suite.commands
        result.tests_exit_ok = suite.exit_ok
        result.fail_to_pass = {t: suite.outcomes[t] for t in case.spec.fail_to_pass}
        result.pass_to_pass = {t: suite.outcomes[t] for t in case.spec.pass_to_pass if t not in result.fail_to_pass}
        result.resolved = is_resolved(result.fail_to_pass, result.pass_to_pass, suite.exit_ok)
        result.calibration = verdict(fix.confidence, result.resolved)
        result.confidence_as_expected = fix.confidence == case.spec.expected_confidence
        result.localisation = await self._localise(case, sandbox, fix, result)
        result.status = "scored"

    async def _localise(self, case: Case, sandbox: Sandbox, fix: FixResult, result: CaseResult) -> Localisation:
        files = sorted({c.file for c in fix.changes})
        functions: set[str] = set()
        for rel in files:
            path = sandbox.worktree / rel
            after = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
            functions |= changed_functions(rel, await file_at_base(sandbox, rel), after)
        outputs: list[str] = []
        if result.transcript:
            records = read_transcript(self.run_dir / result.transcript)
            outputs = [str(r.get("content", "")) for r in records if r.get("kind") == "tool_result"]
        return localise(case.spec.gold.files, case.spec.gold.functions, files, functions, outputs)

    def _write_log(self, case_id: str, repeat: int, log: list[str], result: CaseResult) -> None:
        if result.detail:
            log.append(f"[{result.status}] {result.detail}")
        if not log:
            return
        rel = log_rel(case_id, repeat)
        path = self.run_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(log) + "\n", encoding="utf-8")
        result.log = rel


async def run_eval(config: EvalConfig, cases: list[Case]) -> tuple[Path, RunFile]:
    """Run `cases` under `config`; returns the run directory and everything it recorded."""
    if not cases:
        raise EvalUnavailable(f"no eval cases match {config.cases_glob!r} in {config.cases_dir}")
    llm = config.llm or default_llm(cases, config.recordings_dir)
    if llm in LIVE_LLMS:
        live_provider(llm, config.model, config.base_url)  # fail before creating a run directory
    run_dir = new_run_dir(llm, config.out)
    run = EvalRun(config, cases, run_dir)
    return run_dir, await run.run()
