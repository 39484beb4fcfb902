"""Per-run results, and the numbers a whole eval run is judged by.

Resolved (SWE-bench style): every FAIL_TO_PASS test passes, every PASS_TO_PASS test still
passes, and every test command exited 0. Nothing else counts: not the model's confidence, not
whether it touched the right file.

Calibration asks whether the model was right to be confident. A confidence of MEDIUM or HIGH
is "confident" because that is what opens a pull request under the default gate
(`behavior.min-confidence: MEDIUM`): confident and resolved, or LOW and unresolved, is
justified; confident but unresolved is overconfident (a bad PR would be opened); LOW but
resolved is underconfident (a good fix would be held back).

Reproduction and validation are measured by the harness, never taken from the agent's report
(evals/validation.py): a run *reproduced* the bug when a test file it added fails on the base
tree; it is *validated* when the service's own validation says so: its reproduction test fails
before the fix with the event's exception, passes after, and no test the agent could see broke.
"Validated and resolved" is the number that matters for the service: a fix its own evidence
vouches for that the hidden tests confirm.

Runs that could not be scored (no recording for this prompt version, a harness error) are
listed but never enter a rate: a stale recording must not read as a failed fix, nor a crashed
setup as a model's mistake.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from domain import Confidence, Usage
from domain.validation import Validation
from evals.localisation import Localisation
from evals.testrunners import CommandRecord

Status = Literal["scored", "stale_recording", "no_recording", "error"]
Verdict = Literal["justified", "overconfident", "underconfident"]
CONFIDENT = (Confidence.MEDIUM, Confidence.HIGH)
WILSON_Z = 1.959964  # 95 %


class Reproduction(BaseModel):
    """The run's own tests on the base tree, as the harness ran them (see evals/validation.py)."""

    tests: list[str] = Field(default_factory=list)  # test files the run added
    at_base: str = ""  # counts of running them on the base tree, e.g. "0 passed, 1 failed"
    failed_at_base: bool = False
    detail: str = ""  # why nothing was reproduced


class CaseResult(BaseModel):
    """One case, one repeat."""

    case_id: str
    repeat: int
    status: Status
    detail: str = ""  # why it was not scored, or what went wrong
    resolved: bool | None = None
    fail_to_pass: dict[str, str] = Field(default_factory=dict)  # test id → outcome
    pass_to_pass: dict[str, str] = Field(default_factory=dict)
    tests_exit_ok: bool | None = None  # every test command exited 0
    test_commands: list[CommandRecord] = Field(default_factory=list)
    patch_applied: bool = False  # the run left at least one accepted edit
    files_changed: list[str] = Field(default_factory=list)
    tests_restored: list[str] = Field(default_factory=list)  # test files the run edited, put back before scoring
    tests_hidden: list[str] = Field(default_factory=list)  # test files absent during the agent's run
    localisation: Localisation | None = None
    environment: str = ""  # what the engine ran the tests in (key, reused or built)
    environment_reused: bool | None = None  # an earlier run built it (None: older run files)
    environment_seconds: float = 0.0  # building it (0 when reused)
    reproduction: Reproduction | None = None  # None: not measured (older run files)
    validation: Validation | None = None  # the pipeline's own verdict on the fix (server/pipeline/validation.py)
    reproduced: bool | None = None  # None: not measured (older run files)
    validated: bool | None = None
    confidence: Confidence | None = None
    expected_confidence: Confidence | None = None
    confidence_as_expected: bool | None = None
    calibration: Verdict | None = None
    exit_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    wall_seconds: float = 0.0
    agent_seconds: float = 0.0
    test_seconds: float = 0.0
    provider: str = ""  # provider name and label, e.g. "replay: REPLAYED model turns (…)"
    transcript: str | None = None  # relative to the run directory
    log: str | None = None  # setup and test output, relative to the run directory
    root_cause: str = ""
    pr_title: str = ""
    diff: str = ""

    @property
    def scored(self) -> bool:
        return self.status == "scored"


def is_resolved(fail_to_pass: dict[str, str], pass_to_pass: dict[str, str], exit_ok: bool) -> bool:
    outcomes = [*fail_to_pass.values(), *pass_to_pass.values()]
    return bool(outcomes) and exit_ok and all(o == "passed" for o in outcomes)


def verdict(confidence: Confidence, resolved: bool) -> Verdict:
    confident = confidence in CONFIDENT
    if confident == resolved:
        return "justified"
    return "overconfident" if confident else "underconfident"


def wilson(successes: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval for a proportion: unlike the normal approximation it stays inside
    [0, 1] and is honest about small samples (3/3 is not "100 % ± 0")."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# --- the summary of a run -----------------------------------------------------------------------


class LevelStats(BaseModel):
    count: int = 0
    resolved: int = 0
    as_expected: int = 0  # matched the case's expected_confidence

    @property
    def resolve_rate(self) -> float | None:
        return self.resolved / self.count if self.count else None


class CaseSummary(BaseModel):
    case_id: str
    runs: int  # scored repeats
    resolved: int
    unscored: int
    statuses: list[str]

    @property
    def rate(self) -> float | None:
        return self.resolved / self.runs if self.runs else None


class Summary(BaseModel):
    cases: int
    attempts: int  # cases × repeats
    scored: int
    unscored: dict[str, int] = Field(default_factory=dict)  # status → count
    resolved: int = 0
    resolve_rate: float | None = None
    resolve_rate_ci95: tuple[float, float] | None = None
    cases_resolved_every_repeat: int = 0  # pass^k
    cases_resolved_any_repeat: int = 0  # pass@k
    patch_applied: int = 0
    # None in run files written before reproduction was measured.
    reproduction_measured: int | None = None  # scored runs whose reproduction was measured
    reproduced: int | None = None
    reproduction_rate: float | None = None
    validated: int | None = None
    validated_rate: float | None = None
    validated_and_resolved: int | None = None
    validated_and_resolved_rate: float | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_per_resolved_usd: float | None = None
    mean_cost_usd: float | None = None
    mean_steps: float | None = None
    mean_tool_calls: float | None = None
    mean_wall_seconds: float | None = None
    total_wall_seconds: float = 0.0
    calibration: dict[str, LevelStats] = Field(default_factory=dict)  # HIGH/MEDIUM/LOW
    verdicts: dict[str, int] = Field(default_factory=dict)  # justified/overconfident/underconfident
    confidence_as_expected: int = 0
    file_hit_rate: float | None = None  # gold files all touched, over scored runs with gold files
    function_hit_rate: float | None = None
    file_seen_rate: float | None = None  # gold files named in tool outputs
    exit_reasons: dict[str, int] = Field(default_factory=dict)
    per_case: list[CaseSummary] = Field(default_factory=list)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rate(flags: Sequence[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


def summarise(results: Sequence[CaseResult]) -> Summary:
    scored = [r for r in results if r.scored]
    resolved = sum(1 for r in scored if r.resolved)
    usage = Usage()
    for r in results:  # unscored runs that reached the model still cost money
        usage = usage.add(r.usage)
    calibration = {level.value: LevelStats() for level in Confidence}
    for r in scored:
        if r.confidence is None:
            continue
        stats = calibration[r.confidence.value]
        stats.count += 1
        stats.resolved += bool(r.resolved)
        stats.as_expected += bool(r.confidence_as_expected)
    per_case: dict[str, list[CaseResult]] = {}
    for r in results:
        per_case.setdefault(r.case_id, []).append(r)
    case_summaries = [
        CaseSummary(
            case_id=cid,
            runs=sum(1 for r in rs if r.scored),
            resolved=sum(1 for r in rs if r.scored and r.resolved),
            unscored=sum(1 for r in rs if not r.scored),
            statuses=[r.status for r in sorted(rs, key=lambda r: r.repeat)],
        )
        for cid, rs in sorted(per_case.items())
    ]
    locs = [r.localisation for r in scored if r.localisation is not None]
    measured = [r for r in scored if r.reproduced is not None]
    reproduced = sum(1 for r in measured if r.reproduced)
    validated = sum(1 for r in measured if r.validated)
    validated_resolved = sum(1 for r in measured if r.validated and r.resolved)
    return Summary(
        cases=len(per_case),
        attempts=len(results),
        scored=len(scored),
        unscored=dict(Counter(r.status for r in results if not r.scored)),
        resolved=resolved,
        resolve_rate=resolved / len(scored) if scored else None,
        resolve_rate_ci95=wilson(resolved, len(scored)) if scored else None,
        cases_resolved_every_repeat=sum(1 for c in case_summaries if c.runs and c.resolved == c.runs),
        cases_resolved_any_repeat=sum(1 for c in case_summaries if c.resolved > 0),
        patch_applied=sum(1 for r in scored if r.patch_applied),
        reproduction_measured=len(measured) if measured else None,
        reproduced=reproduced if measured else None,
        reproduction_rate=reproduced / len(measured) if measured else None,
        validated=validated if measured else None,
        validated_rate=validated / len(measured) if measured else None,
        validated_and_resolved=validated_resolved if measured else None,
        validated_and_resolved_rate=validated_resolved / len(measured) if measured else None,
        usage=usage,
        cost_per_resolved_usd=usage.cost_usd / resolved if resolved else None,
        mean_cost_usd=_mean([r.usage.cost_usd for r in scored]),
        mean_steps=_mean([r.usage.steps for r in scored]),
        mean_tool_calls=_mean([r.usage.tool_calls for r in scored]),
        mean_wall_seconds=_mean([r.wall_seconds for r in scored]),
        total_wall_seconds=sum(r.wall_seconds for r in results),
        calibration=calibration,
        verdicts=dict(Counter(r.calibration for r in scored if r.calibration)),
        confidence_as_expected=sum(1 for r in scored if r.confidence_as_expected),
        file_hit_rate=_rate([loc.file_hit for loc in locs]),
        function_hit_rate=_rate([loc.function_hit for loc in locs]),
        file_seen_rate=_rate([
            (set(loc.gold_files) <= set(loc.gold_files_seen)) if loc.gold_files else None for loc in locs
        ]),
        exit_reasons=dict(Counter(r.exit_reason or r.status for r in results)),
        per_case=case_summaries,
    )
