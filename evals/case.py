"""An eval case on disk, and finding the cases a run should use.

A case is a directory (`evals/cases/<case-id>/`):

    case.yml      what the case is and how it is judged (the `CaseSpec` below)
    event.json    the Sentry event, in the API format the service fetches
    webhook.json  the webhook that announced it (not used to score; kept for the intake tests)
    repo/         the buggy project, without .git
    gold.patch    the reference fix, `git apply`-able from the repository root
    scenario.*    how the event was recorded (see `python -m evals.record_cases`)

Test ids name what the scoring runs: pytest node ids (`tests/test_x.py::test_y`), for unittest
`<file>::<Class>::<method>`, for node `<file>::<exact top-level test name>`.

A case's tests run through the service's execution engine (execution/), in its sandbox. The
case's `environment:` block is a project's `tests:` block (`execution.config.TestsConfig`:
setup commands, runner, the interpreter the venv is made from, timeouts), so a case whose tests
need their own dependencies pins them there. A case without one gets `default_environment`:
a venv of the harness's own interpreter with the harness's pytest version (node cases: node's
built-in runner, nothing to install), which is what the harness ran such cases with before.
"""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain import Confidence, ErrorEvent
from execution.config import TestsConfig

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_CASES_DIR = EVALS_DIR / "cases"
CASE_FILE = "case.yml"


class CaseError(Exception):
    """A case directory is incomplete or its case.yml is invalid; the message names the case."""


class RunnerSpec(BaseModel):
    # Extra keys are tolerated so cases can carry notes for the recorder without breaking us.
    model_config = ConfigDict(extra="allow")

    runner: Literal["pytest", "unittest", "node"]
    timeout: float = Field(120.0, gt=0)  # seconds per test command


class GoldSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    files: list[str] = Field(default_factory=list)
    functions: list[str] = Field(default_factory=list)


class CaseSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str = ""
    language: Literal["python", "javascript"]
    description: str = ""
    source_root: str = ""
    setup: list[list[str]] = Field(default_factory=list)
    test: RunnerSpec
    # The case's own environment (a project's `tests:` block); None: `default_environment`.
    environment: TestsConfig | None = None
    fail_to_pass: list[str] = Field(min_length=1)
    pass_to_pass: list[str] = Field(default_factory=list)
    # Hide the files holding FAIL_TO_PASS tests from the agent (SWE-bench style); false opts out.
    hide_tests: bool = True
    gold: GoldSpec = Field(default_factory=GoldSpec)
    tags: list[str] = Field(default_factory=list)
    expected_confidence: Confidence = Confidence.HIGH
    issue_id: str | None = None
    project: str | None = None

    @field_validator("issue_id", mode="before")
    @classmethod
    def _issue_id_text(cls, v: Any) -> Any:
        # YAML reads a bare 5872041193 as an int; Sentry ids are strings everywhere else.
        return str(v) if isinstance(v, int) else v

    @field_validator("source_root", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator("expected_confidence", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_runner(self) -> CaseSpec:
        # `test.runner` says how outcomes are read per test id; the environment's runner is how
        # the engine runs them: two different answers would score one runner's output with
        # another's parser.
        if self.environment is not None:
            if self.environment.runner != self.test.runner:
                raise ValueError(f"environment.runner {self.environment.runner!r} differs from test.runner "
                                 f"{self.test.runner!r}")
            if self.setup:
                raise ValueError("setup belongs in environment.setup when the case declares an environment")
        return self


@dataclass(frozen=True)
class Case:
    spec: CaseSpec
    path: Path  # the case directory

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def repo_dir(self) -> Path:
        return self.path / "repo"

    @property
    def gold_patch(self) -> Path:
        return self.path / "gold.patch"

    @property
    def declares_environment(self) -> bool:
        return self.spec.environment is not None

    @cached_property
    def environment(self) -> TestsConfig:
        """What the engine builds and runs this case's tests with."""
        if self.spec.environment is not None:
            return self.spec.environment
        tests = default_environment(self.spec)
        # Where a new (reproduction) test goes: the repo's own test folder (node projects: test/).
        folder = next((d for d in (tests.test_dir, "test", "__tests__") if (self.repo_dir / d).is_dir()), None)
        return tests.model_copy(update={"test_dir": folder}) if folder else tests

    @property
    def environment_key(self) -> str:
        """The engine's repository key. Cases without an environment of their own share one per
        runner: their environments are identical (same setup, no lock files), so one venv serves
        them all, and the engine keeps only the last few environments of a key."""
        if self.declares_environment or self.spec.setup:
            return f"evals/{self.id}"
        return f"evals/default-{self.spec.test.runner}"

    @property
    def test_ids(self) -> list[str]:
        """Every test the scoring runs, fail-to-pass first, without duplicates."""
        return list(dict.fromkeys([*self.spec.fail_to_pass, *self.spec.pass_to_pass]))

    @property
    def test_files(self) -> list[str]:
        return list(dict.fromkeys(file_of_test(t) for t in self.test_ids))

    @property
    def fail_to_pass_files(self) -> list[str]:
        return list(dict.fromkeys(file_of_test(t) for t in self.spec.fail_to_pass))

    @cached_property
    def event(self) -> ErrorEvent:
        from sources.sentry.parser import parse_event

        data = json.loads((self.path / "event.json").read_text(encoding="utf-8"))
        return parse_event(data, issue_id=self.spec.issue_id, project=self.spec.project)


def default_environment(spec: CaseSpec) -> TestsConfig:
    """The environment of a case that declares none: the harness's interpreter and its pytest
    version (installed from the registry once, then reused), or node's built-in runner; the
    case's `setup` argv lists run after that."""
    setup = [shlex.join(argv) for argv in spec.setup]
    if spec.test.runner == "node":
        return TestsConfig(runner="node", setup=setup, timeout_seconds=spec.test.timeout, lock_files=[])
    install = [f"python -m pip install -q {_harness_pytest()}"] if spec.test.runner == "pytest" else []
    # python None: a venv of the interpreter autofixer runs on. No lock files (node's too): nothing
    # of a case's repo/ is installed, so equal setups share one environment.
    return TestsConfig(runner=spec.test.runner, setup=[*install, *setup], timeout_seconds=spec.test.timeout,
                       lock_files=[])


def _harness_pytest() -> str:
    try:
        return f"pytest=={version('pytest')}"
    except PackageNotFoundError:  # a service image without the test extras
        return "pytest"


def file_of_test(test_id: str) -> str:
    """`tests/test_x.py::test_y[1]` → `tests/test_x.py`."""
    return test_id.split("::", 1)[0]


def load_case(path: Path) -> Case:
    path = path.resolve()
    spec_file = path / CASE_FILE
    try:
        raw = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"{path.name}: cannot read {CASE_FILE} ({exc})") from None
    except yaml.YAMLError as exc:
        raise CaseError(f"{path.name}: {CASE_FILE} is not valid YAML ({exc})") from None
    try:
        spec = CaseSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CaseError(f"{path.name}: invalid {CASE_FILE}: {problems}") from None
    if spec.id != path.name:
        # Recordings, transcripts and reports are keyed by id; a mismatch would file them wrongly.
        raise CaseError(f"{path.name}: case.yml says id {spec.id!r}, but the directory is named {path.name!r}")
    for needed in ("event.json", "repo", "gold.patch"):
        if not (path / needed).exists():
            raise CaseError(f"{spec.id}: missing {needed}")
    return Case(spec=spec, path=path)


def discover_cases(cases_dir: Path = DEFAULT_CASES_DIR, pattern: str = "*") -> list[Case]:
    """Cases under `cases_dir` whose id matches the glob `pattern` (comma-separated globs allowed),
    sorted by id. A directory without case.yml is not a case (e.g. one still being written)."""
    if not cases_dir.is_dir():
        return []
    globs = [p.strip() for p in pattern.split(",") if p.strip()] or ["*"]
    found: list[Case] = []
    for child in sorted(cases_dir.iterdir()):
        if not (child / CASE_FILE).is_file():
            continue
        if any(fnmatch.fnmatchcase(child.name, g) for g in globs):
            found.append(load_case(child))
    return found
