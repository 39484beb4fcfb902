"""`autofixer eval …`: run the eval cases, compare runs, re-read a run, record replays.

Registered in server/cli.py (`add_eval_parser`) and runnable alone as `python -m evals.harness`.

Exit codes of `autofixer eval`: 0 every selected run was scored (whatever the resolve rate,
unless --fail-under says otherwise); 1 some run could not be scored (a stale or missing
recording, a harness error) or the resolve rate is below --fail-under; 2 the run could not
start (unknown or unavailable --llm, no key, no matching case, --out not empty).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EVAL_EPILOG = """\
--llm default: replay when evals/recordings/ holds a recording of any selected case (stale ones
are then reported, not scored), otherwise oracle.

examples:
  autofixer eval                                  offline: replay recordings, else the oracle
  autofixer eval --llm oracle --jobs 4            every case must resolve (checks the cases)
  autofixer eval --llm null                       every case must fail (checks the tests can fail)
  AUTOFIXER_LLM_KEY=... autofixer eval --llm anthropic --model claude-sonnet-4-5 --repeat 3
  autofixer eval compare evals/runs/A evals/runs/B
  autofixer eval show evals/runs/A some-case --repeat 2
  autofixer eval record-replay evals/runs/A       live run → evals/recordings/<case>/<prompt>.json
"""


def add_eval_parser(sub: Any) -> None:
    """Add `eval` (and its actions) to the `autofixer` subcommands."""
    from evals.llms import LLM_CHOICES

    ev = sub.add_parser(
        "eval", help="run the eval cases through the real agent and score them (SWE-bench style)",
        description="Run every eval case in an isolated worktree through the real tools and agent loop, run the "
        "case's tests on the result, and write results.json, report.md and one transcript per case and repeat.",
        epilog=EVAL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--llm", choices=LLM_CHOICES, help="who plays the model (default: see below)")
    ev.add_argument("--model", help="model id for a live --llm (default: the service's default model)")
    ev.add_argument("--base-url", help="API base URL for a live --llm (gateways, proxies)")
    ev.add_argument("--cases", default="*", metavar="GLOB", help="case ids to run, glob(s), comma-separated")
    ev.add_argument("--cases-dir", type=Path, help="where the cases live (default: evals/cases)")
    ev.add_argument("--recordings", type=Path, help="replay recordings (default: evals/recordings)")
    ev.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per case (default 1)")
    ev.add_argument("--jobs", type=int, default=1, metavar="N", help="case runs in parallel (default 1)")
    ev.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: evals/runs/<time>-<llm>/)")
    ev.add_argument("--max-steps", type=int, help="model turns per run (default 30)")
    ev.add_argument("--max-cost", type=float, metavar="USD", help="cost limit per run (default 2.0)")
    ev.add_argument("--max-wall", type=float, metavar="S", help="wall-time limit per run (default 600)")
    ev.add_argument("--keep-worktrees", action="store_true", help="keep each run's worktree (paths in the logs)")
    ev.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 if the resolve rate is below PCT %%")
    ev.add_argument("--record", action="store_true",
                    help="live runs: also write replay recordings of the resolved cases (as record-replay does)")
    ev.set_defaults(func=_run)
    actions = ev.add_subparsers(metavar="ACTION")

    cmp = actions.add_parser("compare", help="metric deltas and per-case flips between two runs")
    cmp.add_argument("run_a", metavar="RUN_A", help="the baseline run directory (or its results.json)")
    cmp.add_argument("run_b", metavar="RUN_B", help="the run to compare with it")
    cmp.add_argument("--fail-on-regression", action="store_true", help="exit 1 if a case resolved in A fails in B")
    cmp.set_defaults(func=_compare)

    show = actions.add_parser("show", help="re-read one case's run turn by turn")
    show.add_argument("run", metavar="RUN", help="a run directory (or its results.json)")
    show.add_argument("case", metavar="CASE", help="the case id, as the report lists it")
    show.add_argument("--repeat", type=int, default=1, metavar="N")
    show.add_argument("--full", action="store_true", help="do not shorten long texts")
    show.set_defaults(func=_show)

    rec = actions.add_parser("record-replay", help="turn a live run's transcripts into replay recordings")
    rec.add_argument("run", metavar="RUN", help="a live run directory whose transcripts become replay recordings")
    rec.add_argument("--dest", type=Path, help="recordings directory (default: evals/recordings)")
    rec.add_argument("--repeat", type=int, metavar="N", help="record this repeat (default: the first resolved one)")
    rec.add_argument("--include-unresolved", action="store_true", help="also record cases no repeat resolved")
    rec.add_argument("--force", action="store_true", help="replace existing recordings")
    rec.add_argument("--allow-offline", action="store_true", help="accept a replay/oracle/null run (tests, demos)")
    rec.set_defaults(func=_record)

    cases = actions.add_parser("cases", help="list the cases and their replay recordings")
    cases.add_argument("--cases-dir", type=Path, dest="list_cases_dir")
    cases.add_argument("--recordings", type=Path, dest="list_recordings")
    cases.set_defaults(func=_cases)


def _err(message: str) -> None:
    print(f"autofixer eval: {message}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from agent.loop import Limits
    from evals.case import DEFAULT_CASES_DIR, CaseError, discover_cases
    from evals.replays import DEFAULT_RECORDINGS_DIR, record_replay
    from evals.report import summary_text
    from evals.runner import LIVE_LLMS, EvalConfig, EvalUnavailable, run_eval

    if args.repeat < 1 or args.jobs < 1:
        _err("--repeat and --jobs must be at least 1")
        return 2
    if args.record and args.llm not in LIVE_LLMS:
        _err("--record needs a live --llm (recordings of offline runs would replay no model's judgement)")
        return 2
    limits = Limits(**{k: v for k, v in {"max_steps": args.max_steps, "max_cost_usd": args.max_cost,
                                         "max_wall_seconds": args.max_wall}.items() if v is not None})
    config = EvalConfig(
        llm=args.llm, model=args.model, base_url=args.base_url,
        cases_dir=args.cases_dir or DEFAULT_CASES_DIR, cases_glob=args.cases, repeat=args.repeat,
        jobs=args.jobs, out=args.out, recordings_dir=args.recordings or DEFAULT_RECORDINGS_DIR, limits=limits,
        keep_worktrees=args.keep_worktrees,
    )
    try:
        cases = discover_cases(config.cases_dir, config.cases_glob)
        import asyncio

        run_dir, run = asyncio.run(run_eval(config, cases))
    except (EvalUnavailable, CaseError) as exc:
        _err(str(exc))
        return 2
    print(summary_text(run_dir.name, run))
    print(f"\nresults: {run_dir / 'results.json'}\nreport:  {run_dir / 'report.md'}")
    if args.record:
        _print_recorded(record_replay(run_dir, config.recordings_dir))
    elif run.run.llm in LIVE_LLMS:
        print(f"to replay this run offline: autofixer eval record-replay {run_dir}")
    s = run.summary
    if s.unscored:
        _err(f"{s.attempts - s.scored} of {s.attempts} run(s) could not be scored (see the report)")
        return 1
    if args.fail_under is not None and (s.resolve_rate or 0.0) * 100 < args.fail_under:
        _err(f"resolve rate {(s.resolve_rate or 0.0) * 100:.1f} % is below --fail-under {args.fail_under:g} %")
        return 1
    return 0


def _compare(args: argparse.Namespace) -> int:
    from evals.compare import compare_text, flips
    from evals.runfile import RunError, load_run

    try:
        dir_a, a = load_run(args.run_a)
        dir_b, b = load_run(args.run_b)
    except RunError as exc:
        _err(str(exc))
        return 2
    print(compare_text(dir_a.name, a, dir_b.name, b))
    if args.fail_on_regression and any(f.kind == "REGRESSED" for f in flips(a, b)):
        return 1
    return 0


def _show(args: argparse.Namespace) -> int:
    from evals.runfile import RunError, load_run
    from evals.show import render_case

    try:
        run_dir, run = load_run(args.run)
        print(render_case(run_dir, run, args.case, args.repeat, full=args.full))
    except RunError as exc:
        _err(str(exc))
        return 2
    return 0


def _record(args: argparse.Namespace) -> int:
    from evals.replays import DEFAULT_RECORDINGS_DIR, record_replay
    from evals.runfile import RunError

    try:
        written = record_replay(args.run, args.dest or DEFAULT_RECORDINGS_DIR, force=args.force,
                                allow_offline=args.allow_offline, include_unresolved=args.include_unresolved,
                                repeat=args.repeat)
    except RunError as exc:
        _err(str(exc))
        return 2
    _print_recorded(written)
    return 0


def _print_recorded(written: list[Any]) -> None:
    for item in written:
        where = f" → {item.path}" if item.path else ""
        repeat = f" #{item.repeat}" if item.repeat else ""
        print(f"{item.case_id}{repeat}: {item.note}{where}")


def _cases(args: argparse.Namespace) -> int:
    from agent.loop import prompt_version
    from evals.case import DEFAULT_CASES_DIR, CaseError, discover_cases
    from evals.replays import DEFAULT_RECORDINGS_DIR, find_recording

    recordings = args.list_recordings or DEFAULT_RECORDINGS_DIR
    version = prompt_version()
    try:
        cases = discover_cases(args.list_cases_dir or DEFAULT_CASES_DIR)
    except CaseError as exc:
        _err(str(exc))
        return 2
    print(f"prompt version {version}; {len(cases)} case(s)")
    for case in cases:
        lookup = find_recording(recordings, case.id, version)
        states = {"found": "recorded", "stale": "STALE recording", "missing": "no recording"}
        state = states.get(lookup.status, lookup.status)
        print(f"  {case.id:32} {case.spec.language:10} {case.spec.test.runner:6} {state}  {case.spec.title}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.harness")
    sub = parser.add_subparsers(metavar="COMMAND")
    add_eval_parser(sub)
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
