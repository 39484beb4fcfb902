"""The eval harness: run recorded Sentry issues through the real agent and score the fixes.

This module is the front door; the work is split by concern:

    case.py               a case directory (case.yml, event.json, repo/, gold.patch) and discovery
    sandbox.py            the throw-away git worktree each run gets, and its subprocesses
    runner.py             one run per case and repeat: setup → agent → tests → CaseResult
    testrunners.py        pytest / node test commands and their per-test outcomes
    providers_offline.py  the oracle (plays gold.patch) and null (submits nothing) providers
    goldpatch.py          gold.patch as propose_patch search/replace edits
    replays.py            replay recordings: lookup by prompt version, staleness, record-replay
    localisation.py       gold files/functions touched by the run and seen in tool outputs
    scoring.py            resolved, calibration, the run summary (Wilson interval)
    report.py, compare.py, show.py   the report, the regression view, turn-by-turn reading
    runfile.py            the run directory and results.json
    cli.py                `autofixer eval …`

Usage: `autofixer eval --help`, or `python -m evals.harness --help` from a checkout.
"""

from __future__ import annotations

import sys

from evals.case import Case, discover_cases, load_case
from evals.cli import main
from evals.runfile import RunFile, load_run
from evals.runner import EvalConfig, EvalUnavailable, run_eval

__all__ = ["Case", "EvalConfig", "EvalUnavailable", "RunFile", "discover_cases", "load_case", "load_run", "main",
           "run_eval"]

if __name__ == "__main__":
    sys.exit(main())
