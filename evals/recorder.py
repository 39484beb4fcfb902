"""Record real Sentry events from a scenario, and convert them to the API format.

Recorded, not written by hand: a scenario runs a project's code under the real Sentry Python
SDK (`sentry-sdk`, installed in a separate scratch venv, never a dependency of autofixer),
and the event the SDK would have sent is taken from its transport. The SDK is initialised with
a DSN on a reserved, unresolvable host (`sentry.example.invalid`) and a custom `Transport`
whose `capture_envelope` writes each envelope's event item to a file, so nothing ever reaches
the network. Everything in the captured event (exception chain, frames with source context and
local variables, in-app flags, breadcrumbs, request, contexts, SDK info, timestamps, event id)
is produced by the SDK itself.

The captured event is in the ingest format (what SDKs send, what webhooks embed). autofixer
fetches events from the API (`GET /api/0/organizations/{org}/issues/{id}/events/latest/`),
which serves a different, camelCase shape, so `ingest_to_api` performs the part of Sentry's
server-side processing that changes the shape:

* copied (renamed/reshaped, values untouched): event id, platform, frames (filename, abs_path,
  module, function, lineno, colno, in_app, vars; pre_context/context_line/post_context become
  `context: [[lineno, line], ...]`), exception type/value/module/mechanism, breadcrumbs
  (epoch timestamps become ISO 8601), request (query string and headers become pairs, the URL
  loses its query), contexts (plus their `type`, as Relay adds), user, sdk name/version,
  extra (`context`), modules (`packages`), dist, SDK tags.
* derived the way Sentry derives them: title, culprit, location, metadata (crash frame:
  last in-app frame of the reported exception), the tags Sentry adds (level, environment,
  release, handled, mechanism, runtime, server_name, transaction, url, user), hasSystemFrames,
  size (bytes of the ingest payload), dateCreated/dateReceived.
* filled in, because only a Sentry server knows them: groupID and projectID (given by the
  caller), the release object (shaped like a release Sentry auto-creates on its first event:
  no commits, no deploys), `fingerprints` (an md5 over the grouping inputs: exception type and
  in-app frames' module/function/context line; it plays the role of Sentry's hash but is not
  byte-identical to it), `groupingConfig` (the `newstyle:2023-01-11` config real events
  carry), and the API's always-empty fields (errors, sdkUpdates, resolvedWith, ...).
  Not reproduced: Relay's user-agent parsing (browser/os contexts from the User-Agent header)
  and the `_meta` remarks about scrubbed values.

The only edit made to a captured event is `path_map`: the scenario runs in a throw-away copy
of the project, and that copy's directory (and the scratch venv's) are rewritten to where the
app would be deployed (e.g. `/srv/shop`), so frames look like production frames.

Python scenarios get `wsgi_request` (a gunicorn-like request through a WSGI app) and
`run_as_main` (a CLI's or worker's entry point, whose crash is reported through
`sys.excepthook` like an uncaught exception) in their namespace.

Node.js (`capture_node_event`): the same idea with the real `@sentry/node` (installed by npm
into a cached scratch directory, never a dependency of anything here). A small CommonJS runner
initialises the SDK with a custom transport (`transport: () => ({send, flush})`, the SDK's
`Transport` interface) that writes each envelope's event item to a file, then runs the
scenario, a module exporting `async ({Sentry, appRequire, request}) => ...`. Frames, in_app
flags, module names (relative to the entry script, as for `node src/server.js`), context lines
(the SDK's ContextLines integration), request data, breadcrumbs and contexts are the SDK's own;
the conversion is the same `ingest_to_api`, with Sentry's JavaScript culprit rule
(`function(module)`) when the event has no transaction.

This module imports only the standard library: the same file runs as the child process inside
the scratch venv (`python recorder.py _child SPEC`), where autofixer's dependencies are absent.

CLI (from the repository root):

    python -m evals.recorder demo            # re-record server/demo_assets/{event,ingest_event,webhook}.json
    python -m evals.record_cases [--case GLOB]   # re-record the eval cases (evals/cases/*)
    python -m evals.recorder record --project DIR --scenario FILE --issue-id N --project-slug S \\
        --release shop@1.0.0 --out event.json
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import venv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# A reserved TLD (RFC 2606): even a misconfigured transport could not reach a real server.
RECORDING_DSN = "https://public@sentry.example.invalid/1"
# Scratch environments for the real SDKs live in a fixed cache directory so every recording
# (and the recorder test in CI) reuses one install instead of paying for it each time.
CACHE_DIR = Path(os.environ.get("AUTOFIXER_CACHE_DIR") or Path.home() / ".cache" / "autofixer")
DEFAULT_VENV = Path(os.environ.get("AUTOFIXER_RECORDER_VENV") or CACHE_DIR / "recorder-venv")
DEFAULT_NODE_DIR = Path(os.environ.get("AUTOFIXER_RECORDER_NODE_DIR") or CACHE_DIR / "recorder-node")
# Pinned so a re-recording differs from the committed event only where the scenario changed.
PYTHON_SDK_REQUIREMENT = os.environ.get("AUTOFIXER_RECORDER_SENTRY_SDK") or "sentry-sdk==2.75.0"
NODE_SDK_PACKAGE = os.environ.get("AUTOFIXER_RECORDER_SENTRY_NODE") or "@sentry/node@11.12.0"
# Real API events of this era carry this config; the enhancements string is Sentry's opaque
# encoding of the default enhancement rules, copied from real responses.
GROUPING_CONFIG = {"enhancements": "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ", "id": "newstyle:2023-01-11"}
TITLE_VALUE_MAX = 100  # Sentry truncates the exception value in titles to this many characters

# Interface display order of Sentry's EventSerializer (higher display_score first).
_ENTRY_ORDER = ("message", "exception", "stacktrace", "threads", "breadcrumbs", "request")

Scenario = str | Callable[..., Any]


# ============================================================================================
# Recording


def record_python_scenario(
    project_dir: Path | str,
    scenario: Scenario,
    *,
    issue_id: str,
    project_slug: str,
    release: str,
    project_id: str = "1",
    environment: str = "production",
    server_name: str = "web-1",
    deploy_root: str = "/srv/app",
    argv: Iterable[str] | None = None,
    python: Path | str | None = None,
    sdk_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run `scenario` against a copy of `project_dir` under the real Sentry SDK and return
    the last error event it captured, in the API format.

    `scenario` is Python source (run in a child process with `python`, by default a scratch
    venv with sentry-sdk, with `sentry_sdk` initialised, the project importable and
    `wsgi_request` defined), or a callable taking `wsgi_request` (run in this process, which
    then needs `sentry_sdk` importable). Use `capture_ingest_event` + `ingest_to_api` to keep
    the raw SDK event as well.
    """
    captured = capture_ingest_event(
        project_dir,
        scenario,
        release=release,
        environment=environment,
        server_name=server_name,
        deploy_root=deploy_root,
        argv=argv,
        python=python,
        sdk_options=sdk_options,
    )
    return ingest_to_api(
        captured["event"],
        issue_id=issue_id,
        project_id=project_id,
        project_slug=project_slug,
        received=captured["received"],
    )


def capture_ingest_event(
    project_dir: Path | str,
    scenario: Scenario,
    *,
    release: str,
    environment: str = "production",
    server_name: str = "web-1",
    deploy_root: str = "/srv/app",
    argv: Iterable[str] | None = None,
    python: Path | str | None = None,
    sdk_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`{"event": <ingest event>, "received": <epoch seconds the transport got it>}`."""
    with tempfile.TemporaryDirectory(prefix="recorder-") as tmp:
        # The scenario runs in a copy: bytecode and anything the app writes stay out of the
        # source tree, and the copy's path is unique, so rewriting it cannot touch anything else.
        copy = Path(tmp) / "app"
        shutil.copytree(project_dir, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".git"))
        out = Path(tmp) / "events.jsonl"
        spec: dict[str, Any] = {
            "project_dir": str(copy),
            "out": str(out),
            "argv": list(argv) if argv is not None else [f"{deploy_root}/app.py"],
            "options": {
                "dsn": RECORDING_DSN,
                "release": release,
                "environment": environment,
                "server_name": server_name,
                **(sdk_options or {}),
            },
        }
        if callable(scenario):
            venv_prefix = sys.prefix
            _run_in_process(spec, scenario)
        else:
            interpreter = Path(python) if python else ensure_recorder_venv()
            venv_prefix = _prefix_of(interpreter)
            spec["scenario"] = scenario
            spec_file = Path(tmp) / "spec.json"
            spec_file.write_text(json.dumps(spec), encoding="utf-8")
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
            env.pop("PYTHONPATH", None)  # the child sees the project copy and its venv, nothing of ours
            proc = subprocess.run(
                [str(interpreter), str(Path(__file__).resolve()), "_child", str(spec_file)],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"the scenario failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        captures = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
        errors = [c for c in captures if c["event"].get("type", "error") in ("error", "default")]
        if not errors:
            raise RuntimeError("the scenario ran but the SDK captured no error event")
        last = errors[-1]
        path_map = {str(copy): deploy_root, venv_prefix: "/opt/venv"}
        return {"event": rewrite_paths(last["event"], path_map), "received": last["received"]}


class RecorderSetupError(RuntimeError):
    """The scratch environment for an SDK could not be installed (e.g. no registry access)."""


def ensure_recorder_venv(path: Path = DEFAULT_VENV) -> Path:
    """A scratch venv with `sentry-sdk`, created on first use; returns its python."""
    python = path / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
    check = subprocess.run([str(python), "-c", "import sentry_sdk"], capture_output=True)
    if check.returncode != 0:
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", PYTHON_SDK_REQUIREMENT],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise RecorderSetupError(f"pip install {PYTHON_SDK_REQUIREMENT} failed:\n{proc.stderr[-3000:]}")
    return python


def _prefix_of(python: Path) -> str:
    proc = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    return proc.stdout.strip() or str(python.parent.parent)


def rewrite_paths(value: Any, path_map: Mapping[str, str]) -> Any:
    """Every string in `value` with the path_map's prefixes replaced (longest first)."""
    pairs = sorted(((k, v) for k, v in path_map.items() if k), key=lambda kv: -len(kv[0]))

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            for old, new in pairs:
                node = node.replace(old, new)
            return node
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)


# --------------------------------------------------------------------------------------------
# Inside the recording process (the scratch venv's python, or this one for a callable scenario)


def wsgi_request(
    app: Callable[..., Iterable[bytes]],
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    json_body: Any = None,
    host: str = "shop.example.com",
    remote_addr: str = "10.0.3.17",
) -> tuple[int, bytes, BaseException | None]:
    """Send one request through a WSGI app with the environ gunicorn builds behind a TLS proxy.

    Exceptions the app raises (after an error middleware has reported them) are returned, not
    raised, so a scenario can go on and the recorder decides what counts as a failure.
    """
    if json_body is not None:
        body = json.dumps(json_body).encode()
    body = body or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": path + (f"?{query}" if query else ""),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "0.0.0.0",
        "SERVER_PORT": "8000",
        "SERVER_SOFTWARE": "gunicorn/23.0.0",
        "REMOTE_ADDR": remote_addr,
        "REMOTE_PORT": "51544",
        "HTTP_HOST": host,
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.url_scheme": "https",
        "wsgi.version": (1, 0),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = "application/json" if json_body is not None else "application/octet-stream"
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    status: list[str] = []

    def start_response(line: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        status.append(line)
        return lambda data: None

    try:
        chunks = app(environ, start_response)
        data = b"".join(chunks)
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    except Exception as exc:  # the app crashed: the point of most scenarios
        return 500, b"", exc
    return int(status[0].split()[0]) if status else 500, data, None


def run_as_main(entry_point: Callable[..., Any], *args: Any, **kwargs: Any) -> BaseException | None:
    """Run a CLI's or worker's entry point as its process would, and report a crash the way an
    uncaught exception is reported: through `sys.excepthook`, which the SDK's excepthook
    integration wraps (mechanism `excepthook`, handled `no`).

    The traceback handed over starts at the entry point: this helper's own frame (the
    scenario's stand-in for the interpreter's top level) is dropped, so the event's oldest frame
    is the application's `main`, as for a console script. Returns the exception (or None), so a
    scenario can assert that it crashed the expected way.
    """
    try:
        entry_point(*args, **kwargs)
    except SystemExit:
        return None
    except Exception as exc:  # the crash the scenario exists for
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        sys.excepthook(type(exc), exc, tb)
        return exc
    return None


def _init_sdk(spec: Mapping[str, Any]) -> Any:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    out = Path(spec["out"])

    class FileTransport(Transport):
        """Writes each envelope's event item to a file instead of sending it anywhere."""

        def capture_envelope(self, envelope: Any) -> None:
            event = envelope.get_event()
            if event is None:  # sessions, client reports: not events
                return
            record = {"received": time.time(), "event": event}
            with out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, default=repr) + "\n")

    options = dict(spec["options"])
    sentry_sdk.init(
        transport=FileTransport(options),
        project_root=spec["project_dir"],  # in_app: frames from the project's files
        **options,
    )
    return sentry_sdk


def _run_in_process(spec: Mapping[str, Any], scenario: Callable[..., Any]) -> None:
    saved_argv, saved_cwd, saved_path = sys.argv[:], os.getcwd(), sys.path[:]
    os.chdir(spec["project_dir"])
    sys.path.insert(0, spec["project_dir"])
    sys.argv = list(spec["argv"])
    try:
        sentry_sdk = _init_sdk(spec)
        try:
            params = inspect.signature(scenario).parameters
            scenario(wsgi_request) if params else scenario()
        finally:
            sentry_sdk.flush()
            sentry_sdk.get_client().close()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(saved_cwd)


def _child_main(spec_file: str) -> int:
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    project = spec["project_dir"]
    os.chdir(project)
    sys.path.insert(0, project)
    sys.argv = list(spec["argv"])  # what the argv integration reports, as in the deployed process
    sentry_sdk = _init_sdk(spec)
    namespace: dict[str, Any] = {
        "__name__": "__scenario__", "wsgi_request": wsgi_request, "run_as_main": run_as_main, "sentry_sdk": sentry_sdk,
    }
    try:
        exec(compile(spec["scenario"], "<scenario>", "exec"), namespace)
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        sentry_sdk.flush()
    return 0


# ============================================================================================
# Recording a Node.js scenario (the real @sentry/node SDK)

# The child process: initialises @sentry/node with a transport that appends every envelope's
# event item to a file (the SDK's `Transport` interface: `send(envelope)` and `flush()`; an
# envelope is `[headers, [[itemHeader, payload], ...]]`), then runs the scenario. The scenario
# is a CommonJS module exporting `async ({ Sentry, appRequire, request }) => {...}`; it sits
# outside the project copy, so the project's files are the only in-app code.
_NODE_RUNNER = r"""
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
process.chdir(spec.projectDir);
// The SDK names modules relative to the entry script's directory (process.argv[1], read when
// @sentry/node loads), so the process looks like `node <entry>` run in the app's directory.
process.argv[1] = path.join(spec.projectDir, spec.entry);
const Sentry = require(path.join(spec.sdkDir, 'node_modules', '@sentry', 'node'));

function writeEnvelope(envelope) {
  const items = envelope[1] || [];
  for (const [header, payload] of items) {
    if (!header || header.type !== 'event') continue;  // sessions, client reports: not events
    const record = { received: Date.now() / 1000, event: payload };
    fs.appendFileSync(spec.out, JSON.stringify(record) + '\n');
  }
}

Sentry.init({
  ...spec.options,
  transport: () => ({
    send: async (envelope) => { writeEnvelope(envelope); return { statusCode: 200 }; },
    flush: async () => true,
  }),
});

// One HTTP/1.1 request to a server listening on loopback, sent the way a reverse proxy
// forwards it (public Host header, X-Forwarded-* headers). It is written on a raw socket, not
// with http.request or fetch, because the SDK instruments those: the scenario's own client
// calls would show up as outgoing-request breadcrumbs and trace headers the real traffic
// never had. Resolves to {status, body}; the servers answer with Content-Length.
function request(server, method, urlPath, { headers = {}, json, host = spec.host } = {}) {
  const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
  const all = {
    host, 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.24',
    ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    ...headers, 'content-length': String(body.length), connection: 'close',
  };
  const head = [`${method} ${urlPath} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.address().port, '127.0.0.1', () => socket.end(Buffer.concat([Buffer.from(head), body])));
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.split(' ', 2)[1]), body: split < 0 ? '' : text.slice(split + 4) });
    });
  });
}

const appRequire = (rel) => require(path.join(spec.projectDir, rel));

(async () => {
  let code = 0;
  try {
    const scenario = require(spec.scenarioFile);
    await scenario({ Sentry, appRequire, request });
  } catch (err) {
    console.error(err && err.stack || err);
    code = 1;
  }
  await Sentry.flush(5000);
  await Sentry.close(5000);
  process.exit(code);
})();
"""


def ensure_node_sdk(path: Path = DEFAULT_NODE_DIR, node: str = "node") -> Path:
    """A scratch directory with `@sentry/node` installed by npm, created on first use."""
    marker = path / "node_modules" / "@sentry" / "node" / "package.json"
    if marker.is_file():
        return path
    if shutil.which(node) is None or shutil.which("npm") is None:
        raise RecorderSetupError("node and npm are needed to record Node.js scenarios")
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "package.json").exists():
        _write_json(path / "package.json", {"name": "autofixer-recorder-node", "private": True})
    proc = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", NODE_SDK_PACKAGE],
        cwd=path, capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0 or not marker.is_file():
        raise RecorderSetupError(f"npm install {NODE_SDK_PACKAGE} failed:\n{proc.stderr[-3000:]}")
    return path


def capture_node_event(
    project_dir: Path | str,
    scenario: str,
    *,
    release: str,
    environment: str = "production",
    server_name: str = "web-1",
    deploy_root: str = "/srv/app",
    argv: Iterable[str] | None = None,
    node_dir: Path | str | None = None,
    node: str = "node",
    host: str = "api.example.com",
    sdk_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`{"event": <ingest event>, "received": <epoch seconds>}` from a Node.js scenario run
    under the real @sentry/node against a copy of `project_dir` (see `_NODE_RUNNER`).

    `argv` is accepted for symmetry with the Python recorder; the Node SDK does not report it.
    """
    del argv
    sdk_dir = Path(node_dir) if node_dir else ensure_node_sdk(node=node)
    with tempfile.TemporaryDirectory(prefix="recorder-node-") as tmp:
        copy = Path(tmp) / "app"
        shutil.copytree(project_dir, copy, ignore=shutil.ignore_patterns("node_modules", ".git"))
        out = Path(tmp) / "events.jsonl"
        runner = Path(tmp) / "runner.cjs"
        runner.write_text(_NODE_RUNNER, encoding="utf-8")
        scenario_file = Path(tmp) / "scenario.cjs"
        scenario_file.write_text(scenario, encoding="utf-8")
        spec = {
            "entry": _node_entry(copy),
            "projectDir": str(copy),
            "sdkDir": str(sdk_dir.resolve()),
            "scenarioFile": str(scenario_file),
            "out": str(out),
            "host": host,
            "options": {
                "dsn": RECORDING_DSN,
                "release": release,
                "environment": environment,
                "serverName": server_name,
                **(sdk_options or {}),
            },
        }
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "SENTRY_"))}
        env["NODE_ENV"] = "production"
        proc = subprocess.run(
            [node, str(runner), str(spec_file)], cwd=copy, env=env, capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the scenario failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        captures = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
        errors = [c for c in captures if c["event"].get("type", "error") in ("error", "default", None)]
        if not errors:
            raise RuntimeError("the scenario ran but the SDK captured no error event")
        last = errors[-1]
        # In production the SDK sits in the app's own node_modules.
        path_map = {
            str(copy): deploy_root,
            str(sdk_dir.resolve() / "node_modules"): f"{deploy_root}/node_modules",
        }
        return {"event": rewrite_paths(last["event"], path_map), "received": last["received"]}


def _node_entry(project: Path) -> str:
    """The script `npm start` would run: package.json's `main`, else index.js."""
    try:
        main = json.loads((project / "package.json").read_text(encoding="utf-8")).get("main")
    except (OSError, ValueError):
        main = None
    return str(main or "index.js")


def record_node_scenario(
    project_dir: Path | str,
    scenario: str,
    *,
    issue_id: str,
    project_slug: str,
    release: str,
    project_id: str = "1",
    **options: Any,
) -> dict[str, Any]:
    """`record_python_scenario` for Node.js: the captured event, in the API format."""
    captured = capture_node_event(project_dir, scenario, release=release, **options)
    return ingest_to_api(
        captured["event"], issue_id=issue_id, project_id=project_id, project_slug=project_slug,
        received=captured["received"],
    )


# ============================================================================================
# Ingest format → API format


def ingest_to_api(
    event: Mapping[str, Any],
    *,
    issue_id: str,
    project_id: str | int,
    project_slug: str | None = None,
    received: float | None = None,
) -> dict[str, Any]:
    """The API serializer's view (`.../issues/{id}/events/latest/`) of an ingest-format event.

    See the module docstring for what is copied, derived and filled in.
    """
    exception_values = _exception_values(event)
    primary = exception_values[-1] if exception_values else {}
    crash = _crash_frame(primary)
    event_id = str(event.get("event_id") or hashlib.md5(_canonical(event)).hexdigest())
    timestamp = _to_datetime(event.get("timestamp")) or datetime.now(timezone.utc)
    received_at = _to_datetime(received if received is not None else event.get("received")) or timestamp
    release = _text(event.get("release"))
    mechanism = _mapping(primary.get("mechanism"))
    metadata = dict(event.get("metadata") or {}) or _metadata(primary, crash, exception_values)
    title = _text(event.get("title")) or _title(primary, event)
    culprit = (
        _text(event.get("culprit"))
        or _text(event.get("transaction"))
        or (_culprit_string(crash, str(event.get("platform") or "")) if crash else "")
    )
    entries = _entries(event, exception_values)
    api: dict[str, Any] = {
        "id": event_id,
        "groupID": str(issue_id),
        "eventID": event_id,
        "projectID": str(project_id),
        "size": len(_canonical(event)),
        "entries": entries,
        "dist": event.get("dist"),
        "message": "",  # with an exception, the API's top-level message is empty (search text only)
        "title": title,
        "location": metadata.get("filename"),
        "user": _user(event.get("user")),
        "contexts": _contexts(event.get("contexts")),
        "sdk": _sdk(event.get("sdk")),
        "context": dict(event.get("extra") or {}),
        "packages": dict(event.get("modules") or {}),
        "type": "error" if exception_values else str(event.get("type") or "default"),
        "metadata": metadata,
        "tags": _tags(event, primary, mechanism, release),
        "platform": event.get("platform") or "other",
        "dateReceived": _iso(received_at, micro=True),
        "errors": [],
        "occurrence": None,
        "_meta": {
            "entries": {}, "message": None, "user": None, "contexts": None,
            "sdk": None, "context": None, "packages": None, "tags": {},
        },
        "crashFile": None,
        "culprit": culprit,
        "dateCreated": _iso(timestamp, micro=False),
        "fingerprints": [_grouping_hash(primary, exception_values, event)],
        "groupingConfig": dict(GROUPING_CONFIG),
        "release": _release(release, event, project_id, project_slug, timestamp, received_at),
        "userReport": None,
        "sdkUpdates": [],
        "resolvedWith": [],
        "nextEventID": None,
        "previousEventID": None,
    }
    if not exception_values:
        api["message"] = _text(_message_text(event)) or ""
    return api


def _mapping(raw: Any) -> Mapping[str, Any]:
    """`raw` if it is a mapping, else an empty one: SDK payloads may hold anything anywhere."""
    return raw if isinstance(raw, Mapping) else {}


def _canonical(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), default=repr).encode()


def _exception_values(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = event.get("exception", event.get("sentry.interfaces.Exception"))
    if isinstance(raw, Mapping):
        raw = raw.get("values") if "values" in raw else [raw]
    return [dict(v) for v in raw or [] if isinstance(v, Mapping)]


def _frames_of(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    stack = value.get("stacktrace")
    frames = stack.get("frames") if isinstance(stack, Mapping) else None
    return [dict(f) for f in frames or [] if isinstance(f, Mapping)]


def _crash_frame(value: Mapping[str, Any]) -> dict[str, Any] | None:
    """Sentry's crash frame: the newest in-app frame, else the newest frame."""
    frames = _frames_of(value)
    candidates = [f for f in frames if f.get("in_app") is True] or frames
    return candidates[-1] if candidates else None


def _culprit_string(frame: Mapping[str, Any], platform: str) -> str:
    """Sentry's Frame.get_culprit_string: `module in function`, but `function(module)` for
    JavaScript and Node, whose frames name a file rather than a dotted module."""
    platform = str(frame.get("platform") or platform)
    location = frame.get("module") or frame.get("filename")
    if not location:
        return ""
    if platform in ("javascript", "node"):
        return f"{frame.get('function') or '?'}({location})"
    return f"{location} in {frame.get('function') or '?'}"


def _frame_mix(values: list[dict[str, Any]]) -> str:
    flags = {f.get("in_app") is True for v in values for f in _frames_of(v)}
    if flags == {True}:
        return "in-app-only"
    if flags == {False}:
        return "system-only"
    return "mixed"


def _metadata(primary: Mapping[str, Any], crash: Mapping[str, Any] | None, values: list[dict[str, Any]]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if crash:
        meta["filename"] = crash.get("filename") or crash.get("abs_path")
        meta["function"] = crash.get("function")
    meta["in_app_frame_mix"] = _frame_mix(values)
    meta["type"] = primary.get("type")
    meta["value"] = primary.get("value")
    return meta


def _title(primary: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    ty, value = _text(primary.get("type")), _text(primary.get("value"))
    if ty or value:
        first_line = (value or "").splitlines()[0] if value else ""
        if len(first_line) > TITLE_VALUE_MAX:
            first_line = first_line[: TITLE_VALUE_MAX - 3] + "..."
        return f"{ty}: {first_line}" if ty and first_line else (ty or first_line)
    return _text(_message_text(event)) or "<unlabeled event>"


def _message_text(event: Mapping[str, Any]) -> Any:
    logentry = event.get("logentry") or event.get("sentry.interfaces.Message")
    if isinstance(logentry, Mapping):
        return logentry.get("formatted") or logentry.get("message")
    return event.get("message")


# --- entries --------------------------------------------------------------------------------


def _entries(event: Mapping[str, Any], values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: dict[str, Any] = {}
    message = _message_text(event)
    if isinstance(message, str) and message:
        logentry = _mapping(event.get("logentry"))
        found["message"] = {
            "formatted": message,
            "message": logentry.get("message") if logentry.get("message") != message else None,
            "params": logentry.get("params") or None,
        }
    if values:
        api_values = [_api_exception(v) for v in values]
        found["exception"] = {
            "values": api_values,
            "hasSystemFrames": any((v["stacktrace"] or {}).get("hasSystemFrames") for v in api_values),
            "excOmitted": None,
        }
    stack = event.get("stacktrace", event.get("sentry.interfaces.Stacktrace"))
    if isinstance(stack, Mapping):
        found["stacktrace"] = _api_stacktrace(stack)
    threads = event.get("threads")
    if isinstance(threads, Mapping):
        threads = threads.get("values")
    if isinstance(threads, list) and threads:
        found["threads"] = {"values": [_api_thread(t) for t in threads if isinstance(t, Mapping)]}
    crumbs = event.get("breadcrumbs", event.get("sentry.interfaces.Breadcrumbs"))
    crumbs = crumbs.get("values") if isinstance(crumbs, Mapping) else crumbs
    if isinstance(crumbs, list) and crumbs:
        found["breadcrumbs"] = {"values": [_api_breadcrumb(c) for c in crumbs if isinstance(c, Mapping)]}
    request = event.get("request", event.get("sentry.interfaces.Http"))
    if isinstance(request, Mapping) and request:
        found["request"] = _api_request(request)
    return [{"type": kind, "data": found[kind]} for kind in _ENTRY_ORDER if kind in found]


def _api_exception(value: Mapping[str, Any]) -> dict[str, Any]:
    stack = value.get("stacktrace")
    return {
        "type": value.get("type"),
        "value": value.get("value"),
        "mechanism": dict(value["mechanism"]) if isinstance(value.get("mechanism"), Mapping) else None,
        "threadId": value.get("thread_id"),
        "module": value.get("module"),
        "stacktrace": _api_stacktrace(stack) if isinstance(stack, Mapping) else None,
        "rawStacktrace": None,
    }


def _api_stacktrace(stack: Mapping[str, Any]) -> dict[str, Any]:
    frames = [f for f in stack.get("frames") or [] if isinstance(f, Mapping)]
    in_app = {f.get("in_app") is True for f in frames}
    return {
        "frames": [_api_frame(f) for f in frames],
        "framesOmitted": stack.get("frames_omitted"),
        "registers": stack.get("registers"),
        # Sentry's rule: the "full/app-only" toggle is offered when app and system frames mix.
        "hasSystemFrames": in_app == {True, False},
    }


def _api_frame(frame: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "filename": frame.get("filename"),
        "absPath": frame.get("abs_path") or frame.get("filename"),
        "module": frame.get("module"),
        "package": frame.get("package"),
        "platform": frame.get("platform"),
        "instructionAddr": frame.get("instruction_addr"),
        "symbolAddr": frame.get("symbol_addr"),
        "function": frame.get("function"),
        "rawFunction": frame.get("raw_function"),
        "symbol": frame.get("symbol"),
        "context": _context_pairs(frame),
        "lineNo": frame.get("lineno"),
        "colNo": frame.get("colno"),
        "inApp": frame.get("in_app"),
        "trust": frame.get("trust"),
        "errors": None,
        "lock": None,
        "sourceLink": None,
        "vars": frame.get("vars"),
    }


def _context_pairs(frame: Mapping[str, Any]) -> list[list[Any]]:
    """Sentry's get_context: pre_context, the frame's line, post_context, numbered from lineno."""
    lineno = frame.get("lineno")
    line = frame.get("context_line")
    pre = list(frame.get("pre_context") or [])
    post = list(frame.get("post_context") or [])
    if not isinstance(lineno, int) or (line is None and not (pre or post)):
        return []
    start = lineno - len(pre)
    lines = [*pre, line, *post]
    return [[start + i, text if text is not None else ""] for i, text in enumerate(lines)]


def _api_thread(thread: Mapping[str, Any]) -> dict[str, Any]:
    stack = thread.get("stacktrace")
    return {
        "id": thread.get("id"),
        "name": thread.get("name"),
        "crashed": thread.get("crashed"),
        "current": thread.get("current"),
        "stacktrace": _api_stacktrace(stack) if isinstance(stack, Mapping) else None,
        "rawStacktrace": None,
    }


def _api_breadcrumb(crumb: Mapping[str, Any]) -> dict[str, Any]:
    when = _to_datetime(crumb.get("timestamp"))
    return {
        "timestamp": _iso(when, micro=True) if when else None,
        "type": crumb.get("type") or crumb.get("ty") or "default",
        "category": crumb.get("category"),
        "level": crumb.get("level") or "info",
        "message": crumb.get("message"),
        "data": dict(crumb["data"]) if isinstance(crumb.get("data"), Mapping) and crumb["data"] else None,
        "event_id": crumb.get("event_id"),
    }


def _api_request(request: Mapping[str, Any]) -> dict[str, Any]:
    url = str(request.get("url") or "")
    parts = urlsplit(url)
    query = request.get("query_string")
    if query is None or query == "":
        query = parts.query
    if isinstance(query, str):
        pairs = [[k, v] for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=True)]
    elif isinstance(query, Mapping):
        pairs = [[str(k), str(v)] for k, v in query.items()]
    else:
        pairs = [list(p) for p in query or [] if isinstance(p, (list, tuple)) and len(p) == 2]
    headers = _header_pairs(request.get("headers"))
    cookies_raw = request.get("cookies")
    cookie_header = next((v for k, v in headers if k == "Cookie"), None)
    # Sentry moves a Cookie header into `cookies`.
    headers = [[k, v] for k, v in headers if k != "Cookie"]
    if cookies_raw is None and cookie_header:
        cookies_raw = cookie_header
    if isinstance(cookies_raw, str):
        cookies = [[k, v] for k, v in parse_qsl(cookies_raw.replace("; ", "&").replace(";", "&"), keep_blank_values=True)]
    elif isinstance(cookies_raw, Mapping):
        cookies = [[str(k), str(v)] for k, v in cookies_raw.items()]
    else:
        cookies = [list(p) for p in cookies_raw or [] if isinstance(p, (list, tuple)) and len(p) == 2]
    content_type = next((v for k, v in headers if k == "Content-Type"), None)
    return {
        "apiTarget": request.get("api_target"),
        "method": str(request["method"]).upper() if request.get("method") else None,
        "url": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if url else None,
        "query": pairs,
        "fragment": request.get("fragment") or (parts.fragment or None),
        "data": request.get("data"),
        "headers": headers,
        "cookies": cookies,
        "env": dict(request["env"]) if isinstance(request.get("env"), Mapping) else None,
        "inferredContentType": content_type.split(";")[0].strip() if content_type else None,
    }


def _header_pairs(raw: Any) -> list[list[str]]:
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = [(p[0], p[1]) for p in raw if isinstance(p, (list, tuple)) and len(p) == 2]
    # Sentry stores header names Title-Cased and the pairs sorted by name.
    pairs = [["-".join(w.capitalize() for w in str(k).split("-")), "" if v is None else str(v)] for k, v in items]
    return sorted(pairs, key=lambda p: p[0])


# --- top-level pieces -------------------------------------------------------------------------


def _tags(
    event: Mapping[str, Any], primary: Mapping[str, Any], mechanism: Mapping[str, Any], release: str | None
) -> list[dict[str, str]]:
    tags: dict[str, str] = {}
    raw = event.get("tags")
    items = raw.items() if isinstance(raw, Mapping) else (
        (p[0], p[1]) for p in raw or [] if isinstance(p, (list, tuple)) and len(p) == 2
    )
    for key, value in items:
        if value is not None:
            tags[str(key)] = str(value)
    contexts = _mapping(event.get("contexts"))
    runtime, os_ctx = _mapping(contexts.get("runtime")), _mapping(contexts.get("os"))
    request, user = _mapping(event.get("request")), _mapping(event.get("user"))
    url = urlsplit(str(request.get("url") or ""))
    derived: dict[str, Any] = {
        "level": event.get("level") or "error",
        "environment": event.get("environment"),
        "release": release,
        "dist": event.get("dist"),
        "server_name": event.get("server_name"),
        "transaction": event.get("transaction"),
        "runtime": " ".join(str(p) for p in (runtime.get("name"), runtime.get("version")) if p) or None,
        "runtime.name": runtime.get("name"),
        "os.name": os_ctx.get("name"),
        "url": urlunsplit((url.scheme, url.netloc, url.path, "", "")) if request.get("url") else None,
        "user": _user_tag(user),
    }
    if primary:
        if isinstance(mechanism.get("handled"), bool):
            derived["handled"] = "yes" if mechanism["handled"] else "no"
        derived["mechanism"] = mechanism.get("type")
    for key, value in derived.items():
        if value not in (None, "") and key not in tags:
            tags[key] = str(value)
    return [{"key": k, "value": tags[k]} for k in sorted(tags)]


def _user_tag(user: Mapping[str, Any]) -> str | None:
    for key in ("id", "username", "email", "ip_address"):
        if user.get(key):
            return f"{'ip' if key == 'ip_address' else key}:{user[key]}"
    return None


def _user(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping) or not raw:
        return None
    known = ("id", "email", "username", "ip_address", "name")
    user: dict[str, Any] = {k: raw.get(k) for k in known}
    if isinstance(raw.get("geo"), Mapping):
        user["geo"] = dict(raw["geo"])
    extra = {k: v for k, v in raw.items() if k not in (*known, "geo", "data")}
    user["data"] = {**(raw.get("data") or {}), **extra} or None
    return user


def _contexts(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, ctx in (raw or {}).items():
        if isinstance(ctx, Mapping):
            # Relay stamps each context with its type (the key, for the well-known ones).
            out[name] = {**ctx, "type": ctx.get("type") or (name if name in _KNOWN_CONTEXTS else "default")}
    return out


_KNOWN_CONTEXTS = {"runtime", "os", "trace", "browser", "device", "app", "gpu", "culture", "response", "otel"}


def _sdk(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    return {"name": raw.get("name"), "version": raw.get("version")}


def _grouping_hash(primary: Mapping[str, Any], values: list[dict[str, Any]], event: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for value in values:
        parts.append(str(value.get("type") or ""))
        frames = _frames_of(value)
        app = [f for f in frames if f.get("in_app") is True] or frames
        for f in app:
            parts.append(f"{f.get('module') or f.get('filename')}:{f.get('function')}:{(f.get('context_line') or '').strip()}")
    if not parts:
        parts.append(str(_message_text(event) or ""))
    return hashlib.md5("\n".join(parts).encode()).hexdigest()


def _release(
    version: str | None,
    event: Mapping[str, Any],
    project_id: str | int,
    project_slug: str | None,
    first_event: datetime,
    received: datetime,
) -> dict[str, Any] | None:
    """A release as Sentry auto-creates it when an event first names it: no commits, no deploys."""
    if not version:
        return None
    package, _, bare = version.rpartition("@")
    numbers = bare.split("+", 1)[0].split("-", 1)[0].split(".")
    semver = len(numbers) == 3 and all(n.isdigit() for n in numbers)
    if semver:
        version_info: dict[str, Any] = {
            "package": package or None,
            "version": {
                "raw": bare, "major": int(numbers[0]), "minor": int(numbers[1]), "patch": int(numbers[2]),
                "pre": None, "buildCode": None, "components": 3,
            },
            "description": bare,
            "buildHash": None,
        }
        short = bare
    else:
        is_sha = len(bare) in (40, 64) and all(c in "0123456789abcdef" for c in bare.lower())
        version_info = {
            "package": package or None,
            "version": {"raw": bare},
            "description": bare[:12] if is_sha else bare,
            "buildHash": bare if is_sha else None,
        }
        short = bare
    slug = project_slug or str(project_id)
    return {
        "id": int(hashlib.sha1(f"{project_id}:{version}".encode()).hexdigest()[:8], 16),
        "version": version,
        "status": "open",
        "shortVersion": short,
        "versionInfo": version_info,
        "ref": None,
        "url": None,
        "dateReleased": None,
        "dateCreated": _iso(received, micro=True),
        "data": {},
        "newGroups": 1,
        "owner": None,
        "commitCount": 0,
        "lastCommit": None,
        "deployCount": 0,
        "lastDeploy": None,
        "authors": [],
        "projects": [{
            "id": int(project_id) if str(project_id).isdigit() else project_id,
            "slug": slug, "name": slug, "newGroups": 1,
            "platform": event.get("platform") or "", "platforms": [event.get("platform") or "other"],
            "hasHealthData": False,
        }],
        "firstEvent": _iso(first_event, micro=False),
        "lastEvent": _iso(first_event, micro=False),
        "currentProjectMeta": {},
        "userAgent": None,
    }


def _to_datetime(raw: Any) -> datetime | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return datetime.fromtimestamp(raw, tz=timezone.utc)
    if isinstance(raw, str):
        try:
            return datetime.fromtimestamp(float(raw), tz=timezone.utc)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _iso(when: datetime, *, micro: bool) -> str:
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


# ============================================================================================
# The issue webhook that announces a recorded event


def issue_webhook(
    api_event: Mapping[str, Any],
    *,
    project_slug: str,
    org_slug: str = "acme",
    base_url: str = "https://sentry.example.invalid",
    installation_uuid: str = "7a1c53b4-29b0-4e5d-9b61-3c2f0e8d4a17",
    short_id_number: int = 1,
) -> dict[str, Any]:
    """An integration-platform `issue` webhook body (`action: created`) for the event's issue,
    with `data.issue` in the GroupSerializer shape Sentry sends (plus url/web_url/project_url)."""
    issue_id = str(api_event["groupID"])
    seen = api_event.get("dateReceived") or api_event.get("dateCreated")
    metadata = {k: v for k, v in (api_event.get("metadata") or {}).items() if k in ("filename", "function", "type", "value")}
    tags = {t["key"]: t["value"] for t in api_event.get("tags") or []}
    return {
        "action": "created",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "issue": {
                "annotations": [],
                "assignedTo": None,
                "count": "1",
                "culprit": api_event.get("culprit"),
                "firstSeen": seen,
                "hasSeen": False,
                "id": issue_id,
                "isBookmarked": False,
                "isPublic": False,
                "isSubscribed": False,
                "issueCategory": "error",
                "issueType": "error",
                "lastSeen": seen,
                "level": tags.get("level", "error"),
                "logger": None,
                "metadata": metadata,
                "numComments": 0,
                "permalink": None,
                "platform": api_event.get("platform"),
                "priority": "high",
                "project": {
                    "id": str(api_event.get("projectID")),
                    "name": project_slug,
                    "platform": api_event.get("platform") or "",
                    "slug": project_slug,
                },
                "shareId": None,
                "shortId": f"{project_slug.upper()}-{short_id_number}",
                "status": "unresolved",
                "statusDetails": {},
                "subscriptionDetails": None,
                "substatus": "new",
                "title": api_event.get("title"),
                "type": "error",
                "userCount": 1 if api_event.get("user") else 0,
                "url": f"{base_url}/api/0/organizations/{org_slug}/issues/{issue_id}/",
                "web_url": f"{base_url}/organizations/{org_slug}/issues/{issue_id}/",
                "project_url": f"{base_url}/organizations/{org_slug}/issues/?project={api_event.get('projectID')}",
            }
        },
        "installation": {"uuid": installation_uuid},
    }


# ============================================================================================
# The bundled demo (server/demo_assets)

DEMO_ASSETS = Path(__file__).resolve().parents[1] / "server" / "demo_assets"
@dataclass(frozen=True)
class DemoSpec:
    """Where the demo's event pretends to come from (a self-hosted Sentry, a k8s deployment)."""

    issue_id: str = "5872041193"
    project_id: str = "1"  # the DSN's project
    project_slug: str = "shop"
    org_slug: str = "acme"
    release: str = "shop@1.4.2"
    server_name: str = "shop-web-7d9c5b8f6-q2xlm"
    deploy_root: str = "/srv/shop"
    argv: tuple[str, ...] = (
        "/opt/venv/bin/gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "shop.api:application",
    )


DEMO = DemoSpec()


def record_demo(out_dir: Path = DEMO_ASSETS, python: Path | None = None) -> dict[str, Any]:
    """Re-record the demo's event from `scenario.py` and write event/ingest_event/webhook JSON."""
    captured = capture_ingest_event(
        out_dir / "sample",
        (out_dir / "scenario.py").read_text(encoding="utf-8"),
        release=DEMO.release,
        server_name=DEMO.server_name,
        deploy_root=DEMO.deploy_root,
        argv=DEMO.argv,
        python=python,
    )
    api = ingest_to_api(
        captured["event"],
        issue_id=DEMO.issue_id,
        project_id=DEMO.project_id,
        project_slug=DEMO.project_slug,
        received=captured["received"],
    )
    webhook = issue_webhook(api, project_slug=DEMO.project_slug, org_slug=DEMO.org_slug)
    _write_json(out_dir / "ingest_event.json", captured["event"])
    _write_json(out_dir / "event.json", api)
    _write_json(out_dir / "webhook.json", webhook)
    return api


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["_child"]:
        return _child_main(args[1])
    parser = argparse.ArgumentParser(prog="python -m evals.recorder", description=__doc__.split("\n\n")[0])
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
    api = ingest_to_api(
        captured["event"], issue_id=ns.issue_id, project_id=ns.project_id,
        project_slug=ns.project_slug, received=captured["received"],
    )
    if ns.ingest_out:
        _write_json(ns.ingest_out, captured["event"])
    if ns.out:
        _write_json(ns.out, api)
    else:
        print(json.dumps(api, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
