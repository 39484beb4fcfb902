"""Reading a run: the terminal summary table and the Markdown report (`<run>/report.md`).

Both lead with how the model turns were produced (live, REPLAYED, ORACLE, NULL), so an offline
number is never mistaken for a model's score, and both list unscored runs by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain import Usage
from evals.runfile import RunFile
from evals.scoring import CaseResult, Summary


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def usd(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def cost(usage: Usage) -> str:
    """A run's cost; "cost unknown" when a model without a known price answered (never $0)."""
    if usage.unpriced_turns and not usage.cost_usd:
        return "cost unknown"
    return usd(usage.cost_usd) + ("*" if usage.unpriced_turns else "")


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def ci(summary: Summary) -> str:
    if summary.resolve_rate_ci95 is None:
        return "—"
    lo, hi = summary.resolve_rate_ci95
    return f"{lo * 100:.1f}–{hi * 100:.1f} %"


def of(count: int | None, rate: float | None, total: int) -> str:
    """"45.0 % (9/20)", or "not measured" for run files from before the metric existed."""
    return "not measured" if count is None else f"{pct(rate)} ({count}/{total})"


def tokens(summary: Summary) -> str:
    u = summary.usage
    return (f"{u.input_tokens:,} in / {u.output_tokens:,} out / "
            f"{u.cache_read_tokens:,} cache read / {u.cache_write_tokens:,} cache write")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return out


def _input_tokens(r: CaseResult) -> int:
    # The API reports cached input separately; what the model read is the sum.
    return r.usage.input_tokens + r.usage.cache_read_tokens + r.usage.cache_write_tokens


def _case_rows(run: RunFile) -> list[list[str]]:
    rows: list[list[str]] = []
    for r in run.results:
        outcome = ("resolved" if r.resolved else "FAILED") if r.scored else r.status.replace("_", " ")
        rows.append([
            r.case_id, str(r.repeat), outcome, r.confidence.value if r.confidence else "—",
            r.calibration or "—", _repro(r), str(r.usage.steps), str(r.usage.tool_calls),
            f"{_input_tokens(r):,}/{r.usage.output_tokens:,}",
            cost(r.usage), f"{r.wall_seconds:.1f}s", r.exit_reason or "—",
        ])
    return rows


CASE_HEADERS = [
    "case", "#", "outcome", "conf", "calibration", "repro", "steps", "tools", "tokens in/out", "cost", "time", "exit",
]


def summary_text(run_dir_name: str, run: RunFile) -> str:
    """The table printed at the end of `autofixer eval`."""
    s = run.summary
    lines = [f"eval run {run_dir_name} — {run.run.label}",
             f"prompt version {run.run.prompt_version}, {s.cases} case(s) × {run.run.repeat} repeat(s)", ""]
    lines += text_table(CASE_HEADERS, _case_rows(run))
    lines += [
        "",
        f"resolved        {s.resolved}/{s.scored} scored = {pct(s.resolve_rate)} (95 % CI {ci(s)})",
        f"reproduced      {of(s.reproduced, s.reproduction_rate, s.reproduction_measured or 0)}; validated "
        f"{of(s.validated, s.validated_rate, s.reproduction_measured or 0)}; validated and resolved "
        f"{of(s.validated_and_resolved, s.validated_and_resolved_rate, s.reproduction_measured or 0)}",
        f"cost            {cost(s.usage)} total, {usd(s.cost_per_resolved_usd)} per resolved fix",
        f"tokens          {tokens(s)}",
        "calibration     " + ", ".join(
            f"{lvl} {st.resolved}/{st.count}" for lvl, st in s.calibration.items() if st.count
        ) + (f"; overconfident {s.verdicts.get('overconfident', 0)}, "
             f"underconfident {s.verdicts.get('underconfident', 0)}"),
    ]
    if s.unscored:
        lines.append("NOT SCORED      " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in s.unscored.items()))
    return "\n".join(lines)


def markdown_report(run: RunFile) -> str:
    m, s = run.run, run.summary
    out = [
        f"# Eval run `{m.run_id}`",
        "",
        f"**Model turns: {m.label}**",
        "",
        f"- model: `{m.model}` · prompt version `{m.prompt_version}` · autofixer `{m.autofixer_commit or 'unknown'}`",
        f"- {s.cases} case(s) × {m.repeat} repeat(s), {m.jobs} in parallel; "
        f"cases `{m.cases_glob}` from `{m.cases_dir}`",
        f"- started {m.started_at}, finished {m.finished_at or '(unfinished)'}",
        f"- limits: {', '.join(f'{k}={v}' for k, v in m.limits.items())}",
        f"- tests run by the execution engine, sandbox: {m.sandbox or 'not recorded'}"
        + (f"; environments in `{m.state_dir}`" if m.state_dir else ""),
        "",
        "## Headline",
        "",
    ]
    out += _md_table(["metric", "value"], [
        ["resolve rate", f"**{pct(s.resolve_rate)}** ({s.resolved}/{s.scored} scored runs)"],
        ["95 % confidence interval (Wilson)", ci(s)],
        ["cases resolved in every repeat / any repeat",
         f"{s.cases_resolved_every_repeat} / {s.cases_resolved_any_repeat} of {s.cases}"],
        ["runs with an applied patch", f"{s.patch_applied}/{s.scored}"],
        ["reproduction rate (a test the run added fails on the base tree)",
         of(s.reproduced, s.reproduction_rate, s.reproduction_measured or 0)],
        ["validated rate (that test fails at base, passes after, visible suite green)",
         of(s.validated, s.validated_rate, s.reproduction_measured or 0)],
        ["validated and resolved by the hidden tests",
         of(s.validated_and_resolved, s.validated_and_resolved_rate, s.reproduction_measured or 0)],
        ["cost per resolved fix", usd(s.cost_per_resolved_usd)],
        ["total cost", cost(s.usage)],
        ["mean cost / steps / tool calls per run",
         f"{usd(s.mean_cost_usd)} / {num(s.mean_steps)} / {num(s.mean_tool_calls)}"],
        ["tokens", tokens(s)],
        ["mean wall time per run", f"{num(s.mean_wall_seconds)} s (total {s.total_wall_seconds:.1f} s)"],
        ["not scored", ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in s.unscored.items()) or "none"],
    ])
    out += ["", "## Calibration", "",
            "Was the model right to be confident? MEDIUM and HIGH open a pull request under the default gate, "
            "so they should resolve; LOW should not.", ""]
    out += _md_table(["confidence", "runs", "resolved", "resolve rate", "as the case expected"], [
        [lvl, str(st.count), str(st.resolved), pct(st.resolve_rate), f"{st.as_expected}/{st.count}"]
        for lvl, st in s.calibration.items()
    ])
    out += ["", f"Justified {s.verdicts.get('justified', 0)}, overconfident (confident but unresolved) "
            f"{s.verdicts.get('overconfident', 0)}, underconfident (LOW but resolved) "
            f"{s.verdicts.get('underconfident', 0)}; confidence equal to the case's expected level in "
            f"{s.confidence_as_expected}/{s.scored} runs.", ""]
    out += ["## Localisation", ""]
    out += _md_table(["metric", "rate"], [
        ["every gold file edited", pct(s.file_hit_rate)],
        ["every gold function edited", pct(s.function_hit_rate)],
        ["every gold file named in a tool output", pct(s.file_seen_rate)],
    ])
    hidden: dict[str, set[str]] = {}
    for r in run.results:
        hidden.setdefault(r.case_id, set()).update(r.tests_hidden)
    out += ["", "## Per case", ""]
    out += _md_table(["case", "resolved / runs", "statuses", "test files hidden from the agent"], [
        [c.case_id, f"{c.resolved}/{c.runs}" + (f" (+{c.unscored} unscored)" if c.unscored else ""),
         ", ".join(c.statuses), ", ".join(f"`{f}`" for f in sorted(hidden.get(c.case_id, ()))) or "—"]
        for c in s.per_case
    ])
    out += ["", "## Every run", ""]
    out += _md_table(CASE_HEADERS, _case_rows(run))
    details = [r for r in run.results if not r.scored or not r.resolved]
    if details:
        out += ["", "## Unresolved and unscored runs", ""]
        for r in details:
            out += _detail(r)
    out += ["", f"Exit reasons: {', '.join(f'{k} {v}' for k, v in sorted(s.exit_reasons.items()))}.", "",
            f"Re-read a run turn by turn: `autofixer eval show {m.run_id} CASE --repeat N`.", ""]
    return "\n".join(out)


def reproduction_line(r: CaseResult) -> str | None:
    """What the harness measured of the run's reproduction, and the pipeline's verdict; None for
    older run files."""
    if r.reproduction is None:
        return None
    rep = r.reproduction
    line = (f"Reproduction: {', '.join(f'`{t}`' for t in rep.tests)} at base {rep.at_base}" if rep.tests
            else "Reproduction: none") + (f" ({rep.detail})" if rep.detail else "")
    if r.validation is not None:
        line += f". Pipeline validation: {r.validation.verdict} ({r.validation.reason})"
    return line


def _repro(r: CaseResult) -> str:
    if r.reproduced is None:
        return "—"
    return "validated" if r.validated else "reproduced" if r.reproduced else "none"


def _detail(r: CaseResult) -> list[str]:
    out = [f"### {r.case_id} #{r.repeat}: {('FAILED' if r.scored else r.status.replace('_', ' '))}", ""]
    if r.detail:
        out += ["```", r.detail.strip()[:2000], "```", ""]
    failing = {**r.fail_to_pass, **r.pass_to_pass}
    bad = [f"`{t}`: {o}" for t, o in failing.items() if o != "passed"]
    if bad:
        out += ["Tests not passing: " + "; ".join(bad), ""]
    if r.scored and r.tests_exit_ok is False and not bad:
        codes = ", ".join(str(c.returncode) for c in r.test_commands)
        out += [f"Every test reported a pass, but the test command exited {codes}: not resolved.", ""]
    if (line := reproduction_line(r)) is not None:
        out += [line, ""]
    if r.tests_restored:
        out += [f"Test files edited by the run and put back before scoring: {', '.join(r.tests_restored)}", ""]
    if r.localisation and r.localisation.gold_files:
        loc = r.localisation
        out += [f"Gold files edited: {len(loc.gold_files_touched)}/{len(loc.gold_files)}; "
                f"gold functions edited: {len(loc.gold_functions_touched)}/{len(loc.gold_functions)}; "
                f"files the run edited: {', '.join(loc.files_touched) or 'none'}", ""]
    return out
