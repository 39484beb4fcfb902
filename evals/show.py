"""`autofixer eval show RUN CASE [--repeat N]`: one case's run, re-read turn by turn.

Reads the transcript the run kept (agent/transcript.py records) and prints what the model saw
and did at each step: its text, each tool call with its arguments, each tool result, the
tokens it cost, then the outcome and the tests. Long texts are cut unless `--full`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.transcript import read_transcript
from evals.report import reproduction_line
from evals.runfile import RunError, RunFile
from evals.scoring import CaseResult

CLIP = 1200


def _clip(text: str, limit: int | None) -> str:
    text = text.rstrip()
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}\n… [{len(text) - limit:,} more characters; --full shows everything]"


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines()) or prefix


def _args(arguments: Any, limit: int | None) -> str:
    shown = json.dumps(arguments, ensure_ascii=False, indent=2) if isinstance(arguments, dict) else str(arguments)
    return _clip(shown, limit)


def _usage(turn: dict[str, Any]) -> str:
    return (f"{turn.get('input_tokens', 0):,} in, {turn.get('output_tokens', 0):,} out, "
            f"{turn.get('cache_read_tokens', 0):,} cache read, {turn.get('cache_write_tokens', 0):,} cache write, "
            f"${turn.get('cost_usd', 0.0):.4f}")


def render_turns(records: list[dict[str, Any]], full: bool = False) -> list[str]:
    limit = None if full else CLIP
    out: list[str] = []
    for r in records:
        kind = r.get("kind")
        if kind == "header":
            out.append(f"provider {r.get('provider')} · model {r.get('model')} · prompt version "
                       f"{r.get('prompt_version')} · tools {', '.join(r.get('tools') or [])}")
        elif kind == "message" and r.get("role") == "system":
            out += ["", "── system prompt ──", _indent(_clip(str(r.get("content", "")), None if full else 400))]
        elif kind == "message" and r.get("role") == "user":
            title = "nudge" if r.get("nudge") else "task"
            out += ["", f"── {title} (user) ──", _indent(_clip(str(r.get("content", "")), limit))]
        elif kind == "message" and r.get("role") == "assistant":
            out += ["", f"── step {r.get('step')}: assistant (stop: {r.get('stop_reason')}) ──"]
            if str(r.get("content") or "").strip():
                out.append(_indent(_clip(str(r["content"]), limit)))
        elif kind == "tool_call":
            out += [f"  → {r.get('name')}", _indent(_args(r.get("arguments"), limit), "      ")]
        elif kind == "tool_result":
            state = "ERROR" if r.get("is_error") else "ok"
            out += [f"  ← {r.get('name')} ({state}, {r.get('seconds', 0)} s)",
                    _indent(_clip(str(r.get("content", "")), limit), "      ")]
        elif kind == "usage":
            out.append(f"  usage: {_usage(r.get('turn') or {})}")
        elif kind in ("stopped", "provider_error", "crash"):
            detail = r.get("detail") or r.get("error") or ""
            out += ["", f"── {kind}: {r.get('reason', '')} {detail}".rstrip()]
        elif kind == "result":
            res = r.get("result") or {}
            out += ["", f"── result: {res.get('exit_reason')}, confidence {res.get('confidence')} ──",
                    _indent(f"root cause: {res.get('root_cause', '')}")]
    return out


def render_case(run_dir: Path, run: RunFile, case_id: str, repeat: int, full: bool = False) -> str:
    result = run.result(case_id, repeat)
    if result is None:
        known = sorted({r.case_id for r in run.results})
        raise RunError(f"{run_dir.name} has no run of {case_id} repeat {repeat} (cases: {', '.join(known)})")
    out = [_headline(run, result)]
    if result.transcript and (run_dir / result.transcript).is_file():
        out += render_turns(read_transcript(run_dir / result.transcript), full)
    else:
        out.append("(no transcript: the agent did not run for this case)")
    out += ["", "── scoring ──", *_scoring(result)]
    if result.diff:
        out += ["", "── diff ──", _clip(result.diff, None if full else 4000)]
    return "\n".join(out)


def _headline(run: RunFile, r: CaseResult) -> str:
    outcome = ("RESOLVED" if r.resolved else "NOT RESOLVED") if r.scored else r.status.replace("_", " ").upper()
    conf = r.confidence.value if r.confidence else "—"
    return (f"{r.case_id} #{r.repeat} in run {run.run.run_id} ({run.run.label})\n"
            f"{outcome} · confidence {conf} (expected {r.expected_confidence.value if r.expected_confidence else '—'}, "
            f"{r.calibration or '—'}) · exit {r.exit_reason or '—'} · {r.usage.steps} steps · "
            f"{r.usage.tool_calls} tool calls · ${r.usage.cost_usd:.4f} · {r.wall_seconds:.1f} s")


def _scoring(r: CaseResult) -> list[str]:
    out: list[str] = []
    if r.detail:
        out.append(_indent(r.detail.strip()))
    for label, tests in (("FAIL_TO_PASS", r.fail_to_pass), ("PASS_TO_PASS", r.pass_to_pass)):
        for test_id, outcome in tests.items():
            out.append(f"  {label}  {outcome:8}  {test_id}")
    if r.test_commands:
        out.append("  test command exit code(s): " + ", ".join(str(c.returncode) for c in r.test_commands))
    if r.tests_hidden:
        out.append(f"  test files hidden from the agent, put back for scoring: {', '.join(r.tests_hidden)}")
    if r.tests_restored:
        out.append(f"  test files edited by the run, put back before scoring: {', '.join(r.tests_restored)}")
    if (line := reproduction_line(r)) is not None:
        out.append(f"  {line}")
    if r.localisation is not None:
        loc = r.localisation
        functions = f" ({', '.join(loc.functions_touched)})" if loc.functions_touched else ""
        out.append(f"  edited: {', '.join(loc.files_touched) or 'nothing'}{functions}")
        out.append(f"  gold files edited {len(loc.gold_files_touched)}/{len(loc.gold_files)}, "
                   f"seen in tool output {len(loc.gold_files_seen)}/{len(loc.gold_files)}; "
                   f"gold functions edited {len(loc.gold_functions_touched)}/{len(loc.gold_functions)}")
    if r.log:
        out.append(f"  setup/test output: {r.log}")
    return out
