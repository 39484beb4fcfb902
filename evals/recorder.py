"""Record real Sentry events from a scenario, and convert them to the API format.

Recorded, not written by hand: a scenario runs a project's code under the real Sentry SDK
(`sentry-sdk` in a scratch venv, or `@sentry/node` in a scratch npm directory; never a
dependency of autofixer), with a DSN on a reserved, unresolvable host and a transport that
writes each captured event to a file, so nothing ever reaches the network. The captured event
is in the ingest format (what SDKs send, what webhooks embed); `ingest_to_api` turns it into
the API format autofixer fetches. The only edit made to a captured event is the path map that
makes the throw-away project copy's frames look deployed (e.g. `/srv/shop`).

This module is the public face of the evals/recording/ package, where each piece lives in a
module of its own (see evals/recording/__init__.py): python_sdk.py and python_child.py record
Python scenarios, node_sdk.py Node.js ones, api_format.py converts, webhook.py and demo.py
write the rest of a recording.

CLI (from the repository root):

    python -m evals.recorder demo            # re-record server/demo_assets/{event,ingest_event,webhook}.json
    python -m evals.record_cases [--case GLOB]   # re-record the eval cases (evals/cases/*)
    python -m evals.recorder record --project DIR --scenario FILE --issue-id N --project-slug S \\
        --release shop@1.0.0 --out event.json
"""

from __future__ import annotations

import sys

from evals.recording.api_entries import context_pairs as _context_pairs
from evals.recording.api_format import GROUPING_CONFIG, TITLE_VALUE_MAX, ingest_to_api
from evals.recording.capture import rewrite_paths
from evals.recording.cli import main
from evals.recording.common import (
    CACHE_DIR,
    DEFAULT_NODE_DIR,
    DEFAULT_VENV,
    NODE_SDK_PACKAGE,
    PYTHON_SDK_REQUIREMENT,
    RECORDING_DSN,
    RecorderSetupError,
)
from evals.recording.demo import DEMO, DEMO_ASSETS, DemoSpec, record_demo
from evals.recording.node_sdk import capture_node_event, ensure_node_sdk, record_node_scenario
from evals.recording.python_child import run_as_main, wsgi_request
from evals.recording.python_sdk import (
    Scenario,
    capture_ingest_event,
    ensure_recorder_venv,
    record_python_scenario,
)
from evals.recording.webhook import issue_webhook

__all__ = [
    "CACHE_DIR",
    "DEFAULT_NODE_DIR",
    "DEFAULT_VENV",
    "DEMO",
    "DEMO_ASSETS",
    "GROUPING_CONFIG",
    "NODE_SDK_PACKAGE",
    "PYTHON_SDK_REQUIREMENT",
    "RECORDING_DSN",
    "TITLE_VALUE_MAX",
    "DemoSpec",
    "RecorderSetupError",
    "Scenario",
    "_context_pairs",
    "capture_ingest_event",
    "capture_node_event",
    "ensure_node_sdk",
    "ensure_recorder_venv",
    "ingest_to_api",
    "issue_webhook",
    "main",
    "record_demo",
    "record_node_scenario",
    "record_python_scenario",
    "rewrite_paths",
    "run_as_main",
    "wsgi_request",
]

if __name__ == "__main__":
    sys.exit(main())
