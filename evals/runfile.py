"""The run directory: where one `autofixer eval` run keeps everything it produced.

    <run>/results.json                    run metadata, summary and every case result (this module)
    <run>/report.md                       the human-readable report (evals/report.py)
    <run>/transcripts/<case>/r<N>.jsonl   the agent's transcript of each case and repeat
    <run>/logs/<case>/r<N>.log            setup and test command output

Everything needed to compare two runs, re-read a run turn by turn, or turn a live run into
replay recordings is in here, so a run stays useful after its worktrees are gone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from common.git import Git, GitError
from evals.case import EVALS_DIR
from evals.scoring import CaseResult, Summary

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
SCHEMA_VERSION = 1
DEFAULT_RUNS_DIR = EVALS_DIR / "runs"


class RunMeta(BaseModel):
    run_id: str
    llm: str  # anthropic | replay | oracle | null
    model: str
    label: str  # how the model turns were produced, shown at the top of every report
    prompt_version: str
    started_at: str
    finished_at: str | None = None
    repeat: int = 1
    jobs: int = 1
    cases_dir: str = ""
    cases_glob: str = "*"
    limits: dict[str, Any] = Field(default_factory=dict)
    autofixer_commit: str | None = None  # the checkout the run was made from (+ "-dirty")
    sandbox: str = ""  # where the cases' tests ran: bwrap, or none (unsandboxed); "" in older runs
    state_dir: str = ""  # where their environments are kept


class RunFile(BaseModel):
    schema_version: int = SCHEMA_VERSION
    run: RunMeta
    summary: Summary
    results: list[CaseResult]

    def result(self, case_id: str, repeat: int) -> CaseResult | None:
        return next((r for r in self.results if r.case_id == case_id and r.repeat == repeat), None)


class RunError(Exception):
    """A run directory is missing or unreadable; the message says which."""


def transcript_rel(case_id: str, repeat: int) -> str:
    return f"transcripts/{case_id}/r{repeat}.jsonl"


def log_rel(case_id: str, repeat: int) -> str:
    return f"logs/{case_id}/r{repeat}.log"


def write_run(run_dir: Path, run: RunFile) -> Path:
    path = run_dir / RESULTS_FILE
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(run.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    return path


def resolve_run_dir(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Path:
    """A run given as a directory, its results.json, or a run id under the default runs dir."""
    path = Path(ref)
    if path.is_file() and path.name == RESULTS_FILE:
        return path.parent
    if (path / RESULTS_FILE).is_file():
        return path
    if (runs_dir / str(ref) / RESULTS_FILE).is_file():
        return runs_dir / str(ref)
    raise RunError(f"{ref}: not an eval run (no {RESULTS_FILE} there or under {runs_dir})")


def load_run(ref: str | Path) -> tuple[Path, RunFile]:
    run_dir = resolve_run_dir(ref)
    try:
        data = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
        return run_dir, RunFile.model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        raise RunError(f"{run_dir / RESULTS_FILE}: unreadable ({exc})") from None


def checkout_commit() -> str | None:
    """The autofixer commit a run was made from, so two runs' code can be told apart."""
    root = EVALS_DIR.parent
    git = Git(cwd=root, timeout=10)
    try:
        sha = git.run("rev-parse", "--short=12", "HEAD").text.strip()
        dirty = git.run("status", "--porcelain", "--untracked-files=no", ok=None).text.strip()
    except GitError:
        return None
    return f"{sha}-dirty" if dirty else sha
