"""`autofixer eval compare RUN_A RUN_B`: what changed between two runs (the regression view).

Metric deltas first, then the cases whose outcome flipped. A case counts as resolved in a run
when at least half of its scored repeats resolved; with several repeats a rate that moved
without crossing that line is listed separately, since it may be noise. A case that was not
scored in either run (stale recording, harness error) is never called a flip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evals.report import num, pct, text_table, usd
from evals.runfile import RunFile
from evals.scoring import CaseSummary, Summary


@dataclass(frozen=True)
class Metric:
    name: str
    value: Callable[[Summary], float | None]
    show: Callable[[float | None], str]
    better: str  # "higher" | "lower" | "" (no direction)
    points: bool = False  # a rate: show the delta in percentage points


METRICS = (
    Metric("resolve rate", lambda s: s.resolve_rate, pct, "higher", points=True),
    Metric("resolved runs", lambda s: s.resolved, lambda v: num(v, 0), "higher"),
    Metric("scored runs", lambda s: s.scored, lambda v: num(v, 0), ""),
    Metric("reproduction rate", lambda s: s.reproduction_rate, pct, "higher", points=True),
    Metric("validated rate", lambda s: s.validated_rate, pct, "higher", points=True),
    Metric("validated and resolved", lambda s: s.validated_and_resolved_rate, pct, "higher", points=True),
    Metric("cost per resolved fix", lambda s: s.cost_per_resolved_usd, usd, "lower"),
    Metric("total cost", lambda s: s.usage.cost_usd, usd, "lower"),
    Metric("mean steps", lambda s: s.mean_steps, num, "lower"),
    Metric("mean tool calls", lambda s: s.mean_tool_calls, num, "lower"),
    Metric("input tokens", lambda s: s.usage.input_tokens + s.usage.cache_read_tokens + s.usage.cache_write_tokens,
           lambda v: num(v, 0), "lower"),
    Metric("output tokens", lambda s: s.usage.output_tokens, lambda v: num(v, 0), "lower"),
    Metric("mean wall time (s)", lambda s: s.mean_wall_seconds, num, "lower"),
    Metric("overconfident runs", lambda s: s.verdicts.get("overconfident", 0), lambda v: num(v, 0), "lower"),
    Metric("underconfident runs", lambda s: s.verdicts.get("underconfident", 0), lambda v: num(v, 0), "lower"),
    Metric("gold files edited", lambda s: s.file_hit_rate, pct, "higher", points=True),
    Metric("gold functions edited", lambda s: s.function_hit_rate, pct, "higher", points=True),
)


@dataclass
class Flip:
    case_id: str
    kind: str  # REGRESSED | FIXED | CHANGED | NOT SCORED
    a: str
    b: str


def _delta(metric: Metric, a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    d = b - a
    if abs(d) < 1e-12:
        return "="
    if metric.points:
        shown = f"{d * 100:+.1f} pts"
    elif metric.show is usd:
        shown = f"{d:+.4f} $"
    else:
        shown = f"{d:+,.0f}" if float(d).is_integer() else f"{d:+,.1f}"
    if metric.better:
        good = (d > 0) == (metric.better == "higher")
        shown += "  better" if good else "  WORSE"
    return shown


def _fraction(c: CaseSummary | None) -> str:
    if c is None:
        return "absent"
    return f"{c.resolved}/{c.runs}" + (f" (+{c.unscored} unscored)" if c.unscored else "")


def flips(a: RunFile, b: RunFile) -> list[Flip]:
    case_a = {c.case_id: c for c in a.summary.per_case}
    case_b = {c.case_id: c for c in b.summary.per_case}
    out: list[Flip] = []
    for cid in sorted(set(case_a) & set(case_b)):
        ca, cb = case_a[cid], case_b[cid]
        if not ca.runs or not cb.runs:
            out.append(Flip(cid, "NOT SCORED", _fraction(ca), _fraction(cb)))
            continue
        ra, rb = ca.resolved / ca.runs, cb.resolved / cb.runs
        if (ra >= 0.5) != (rb >= 0.5):
            out.append(Flip(cid, "FIXED" if rb >= 0.5 else "REGRESSED", _fraction(ca), _fraction(cb)))
        elif abs(ra - rb) > 1e-9:
            out.append(Flip(cid, "CHANGED", _fraction(ca), _fraction(cb)))
    return out


def compare_text(name_a: str, a: RunFile, name_b: str, b: RunFile) -> str:
    lines = [f"A: {name_a} — {a.run.label}, prompt version {a.run.prompt_version}",
             f"B: {name_b} — {b.run.label}, prompt version {b.run.prompt_version}", ""]
    rows = []
    for metric in METRICS:
        va, vb = metric.value(a.summary), metric.value(b.summary)
        rows.append([metric.name, metric.show(va), metric.show(vb), _delta(metric, va, vb)])
    lines += text_table(["metric", "A", "B", "Δ (B − A)"], rows)
    changed = flips(a, b)
    lines += ["", f"per-case flips ({sum(1 for f in changed if f.kind in ('FIXED', 'REGRESSED'))}):"]
    if changed:
        rows = [[f.kind, f.case_id, f.a, f.b] for f in changed]
        lines += ["  " + row for row in text_table(["", "case", "A", "B"], rows)]
    else:
        lines.append("  none: every case common to both runs has the same outcome")
    only_a = sorted({c.case_id for c in a.summary.per_case} - {c.case_id for c in b.summary.per_case})
    only_b = sorted({c.case_id for c in b.summary.per_case} - {c.case_id for c in a.summary.per_case})
    if only_a:
        lines.append(f"only in A: {', '.join(only_a)}")
    if only_b:
        lines.append(f"only in B: {', '.join(only_b)}")
    if a.run.prompt_version != b.run.prompt_version:
        lines.append("note: the runs used different prompt versions")
    return "\n".join(lines)
