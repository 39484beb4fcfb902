"""`python -m evals.recorder`: re-record the demo, record one scenario, or convert an event file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.recording.api_format import capture_to_api, ingest_to_api
from evals.recording.common import write_json
from evals.recording.demo import DEMO_ASSETS, record_demo
from evals.recording.python_child import child_main
from evals.recording.python_sdk import capture_ingest_event

DESCRIPTION = "Record real Sentry events from a scenario, and convert them to the API format."


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["_child"]:  # internal: run a scenario spec here, as python_child.py does
        return child_main(args[1])
    parser = argparse.ArgumentParser(prog="python -m evals.recorder", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="re-record server/demo_assets/{event,ingest_event,webhook}.json")
    demo.add_argument("--python", type=Path, help="interpreter with sentry-sdk (default: a scratch venv)")
    rec = sub.add_parser("record", help="record one scenario and print (or write) the API-format event")
    rec.add_argument("--project", type=Path, required=True)
    rec.add_argument("--scenario", type=Path, required=True, help="Python file run under the SDK")
    rec.add_argument("--issue-id", required=True)
    rec.add_argument("--project-id", default="1")
    rec.add_argument("--project-slug", required=True)
    rec.add_argument("--release", required=True)
    rec.add_argument("--deploy-root", default="/srv/app")
    rec.add_argument("--python", type=Path)
    rec.add_argument("--out", type=Path, help="write the API event here (default: stdout)")
    rec.add_argument("--ingest-out", type=Path, help="also write the raw SDK event here")
    conv = sub.add_parser("convert", help="convert an ingest-format event file to the API format")
    conv.add_argument("event", type=Path)
    conv.add_argument("--issue-id", required=True)
    conv.add_argument("--project-id", default="1")
    ns = parser.parse_args(args)
    if ns.command == "demo":
        api = record_demo(python=ns.python)
        print(f"recorded {api['title']!r} as event {api['eventID']} into {DEMO_ASSETS}")
        return 0
    if ns.command == "convert":
        event = json.loads(ns.event.read_text(encoding="utf-8"))
        print(json.dumps(ingest_to_api(event, issue_id=ns.issue_id, project_id=ns.project_id), indent=2))
        return 0
    captured = capture_ingest_event(
        ns.project, ns.scenario.read_text(encoding="utf-8"), release=ns.release,
        deploy_root=ns.deploy_root, python=ns.python,
    )
    api = capture_to_api(captured, issue_id=ns.issue_id, project_id=ns.project_id, project_slug=ns.project_slug)
    if ns.ingest_out:
        write_json(ns.ingest_out, captured["event"])
    if ns.out:
        write_json(ns.out, api)
    else:
        print(json.dumps(api, indent=2))
    return 0
