"""Recording real Sentry events from scenarios, and converting them to the API format.

The public names are re-exported by evals/recorder.py (`from evals.recorder import ...`,
`python -m evals.recorder ...`); its docstring gives the overview. One job a module:

* common.py        the recording DSN, the scratch installs' cache paths and SDK pins,
                   RecorderSetupError, the JSON file format of recordings
* capture.py       a scenario's throw-away project copy, its child process, the last captured
                   error event, and the path map that makes its frames look deployed
* python_sdk.py    the scratch venv with `sentry-sdk`, and recording a Python scenario
* python_child.py  what runs inside the recording process (`wsgi_request`, `run_as_main`, the
                   file-writing transport); standard library only, run as a script in the venv
* node_sdk.py      the scratch npm directory with `@sentry/node`, its runner, and recording a
                   Node.js scenario
* ingest_fields.py reading an ingest event's fields; API timestamps
* api_format.py    `ingest_to_api`: the API serializer's view of an ingest event
* api_entries.py   its `entries` (exception, stacktrace, breadcrumbs, request, ...)
* api_release.py   its `release` object
* webhook.py       the `issue` webhook announcing a recorded event
* demo.py          re-recording the bundled demo (server/demo_assets)
* cli.py           `python -m evals.recorder`

Standard library only, so the whole package also works from the scratch venv's python (a
callable scenario runs in the calling process, which then needs `sentry_sdk` importable).
"""
