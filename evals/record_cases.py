"""(Re)record the eval cases' Sentry events under the real SDKs.

Every case under `evals/cases/<id>/` carries a scenario that makes its buggy project crash the
way production did (`scenario.py` for Python, `scenario.js` for Node) and a `recording.json`
saying where the process pretends to run (release, environment, server name, deploy root,
argv). Recording a case runs the scenario against a copy of `repo/` under the real SDK with a
file-writing transport (see evals/recorder.py), and writes three files next to case.yml:

* `ingest_event.json` — the raw event the SDK produced (provenance: what an SDK sends);
* `event.json`        — that event converted to the API format autofixer fetches;
* `webhook.json`      — the `issue.created` webhook announcing the case's issue.

The issue id and project slug come from case.yml, so a re-recording keeps the case's identity.

    python -m evals.record_cases                   # every case
    python -m evals.record_cases --case 'js-*'     # the cases whose id matches a glob
    python -m evals.record_cases --case contacts-csv-bom --out /tmp/rec   # write elsewhere

Python cases need a scratch venv with sentry-sdk (created under ~/.cache/autofixer on first
use, or `--python` with one that has it); Node cases a scratch directory with @sentry/node
(installed with npm on first use, or `--node-dir`). Neither is a dependency of autofixer.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evals.recorder import (
    capture_ingest_event,
    capture_node_event,
    ingest_to_api,
    issue_webhook,
)

CASES_DIR = Path(__file__).resolve().parent / "cases"
SCENARIO_FILES = {"python": "scenario.py", "javascript": "scenario.js"}


@dataclass(frozen=True)
class RecordingSpec:
    """`recording.json`: the production process the scenario stands in for."""

    release: str
    environment: str = "production"
    server_name: str = "web-1"
    deploy_root: str = "/srv/app"
    argv: tuple[str, ...] = ()
    project_id: str = "1"  # the DSN's project
    org_slug: str = "acme"
    short_id: int = 1  # the issue's number in its project (`<PROJECT>-<n>`)
    sdk_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> RecordingSpec:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        if "argv" in raw:
            raw["argv"] = tuple(raw["argv"])
        return cls(**raw)


@dataclass(frozen=True)
class Case:
    """What recording needs from one case directory."""

    dir: Path
    id: str
    language: str
    issue_id: str
    project: str
    recording: RecordingSpec

    @property
    def repo(self) -> Path:
        return self.dir / "repo"

    @property
    def scenario(self) -> Path:
        return self.dir / SCENARIO_FILES[self.language]

    @classmethod
    def load(cls, case_dir: Path) -> Case:
        meta = yaml.safe_load((case_dir / "case.yml").read_text(encoding="utf-8"))
        language = str(meta["language"])
        if language not in SCENARIO_FILES:
            raise ValueError(f"{case_dir.name}: no recorder for language {language!r}")
        return cls(
            dir=case_dir,
            id=str(meta["id"]),
            language=language,
            issue_id=str(meta["issue_id"]),
            project=str(meta["project"]),
            recording=RecordingSpec.load(case_dir / "recording.json"),
        )


def case_dirs(patterns: Iterable[str] = ("*",), root: Path = CASES_DIR) -> list[Path]:
    """Case directories (those with a case.yml) whose name matches any of the globs."""
    pats = list(patterns) or ["*"]
    return sorted(
        d for d in root.iterdir()
        if d.is_dir() and (d / "case.yml").is_file() and any(fnmatch.fnmatchcase(d.name, p) for p in pats)
    )


def capture_case(case: Case, *, python: Path | None = None, node_dir: Path | None = None) -> dict[str, Any]:
    """`{"event": <ingest event>, "received": <epoch seconds>}` from running the case's scenario."""
    spec = case.recording
    scenario = case.scenario.read_text(encoding="utf-8")
    common: dict[str, Any] = {
        "release": spec.release,
        "environment": spec.environment,
        "server_name": spec.server_name,
        "deploy_root": spec.deploy_root,
        "argv": list(spec.argv) or None,
        "sdk_options": dict(spec.sdk_options) or None,
    }
    if case.language == "python":
        return capture_ingest_event(case.repo, scenario, python=python, **common)
    return capture_node_event(case.repo, scenario, node_dir=node_dir, **common)


def record_case(
    case_dir: Path, *, out_dir: Path | None = None, python: Path | None = None, node_dir: Path | None = None
) -> dict[str, Any]:
    """Record one case and write ingest_event/event/webhook JSON into `out_dir` (default: the
    case directory). Returns the API-format event."""
    case = Case.load(case_dir)
    captured = capture_case(case, python=python, node_dir=node_dir)
    api = ingest_to_api(
        captured["event"],
        issue_id=case.issue_id,
        project_id=case.recording.project_id,
        project_slug=case.project,
        received=captured["received"],
    )
    webhook = issue_webhook(
        api, project_slug=case.project, org_slug=case.recording.org_slug, short_id_number=case.recording.short_id
    )
    target = out_dir or case_dir
    target.mkdir(parents=True, exist_ok=True)
    _write_json(target / "ingest_event.json", captured["event"])
    _write_json(target / "event.json", api)
    _write_json(target / "webhook.json", webhook)
    return api


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.record_cases", description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", default=[], metavar="GLOB",
                        help="record only cases whose id matches (repeatable; default: all)")
    parser.add_argument("--cases-dir", type=Path, default=CASES_DIR)
    parser.add_argument("--out", type=Path, help="write each case's JSON to OUT/<case-id>/ instead of the case")
    parser.add_argument("--python", type=Path, help="interpreter with sentry-sdk (default: a cached scratch venv)")
    parser.add_argument("--node-dir", type=Path, help="directory with node_modules/@sentry/node (default: cached)")
    ns = parser.parse_args(argv)
    dirs = case_dirs(ns.case or ["*"], ns.cases_dir)
    if not dirs:
        print(f"no case matches {ns.case}", file=sys.stderr)
        return 1
    failures = 0
    for case_dir in dirs:
        started = time.monotonic()
        try:
            api = record_case(
                case_dir, out_dir=ns.out / case_dir.name if ns.out else None, python=ns.python, node_dir=ns.node_dir
            )
        except Exception as exc:  # report every case, then fail
            failures += 1
            print(f"FAILED {case_dir.name}: {exc}", file=sys.stderr)
            continue
        print(f"recorded {case_dir.name}: {api['title']!r} ({time.monotonic() - started:.1f}s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
