"""Recording a Node.js scenario under the real `@sentry/node`.

The same idea as the Python recorder (evals/recording/python_sdk.py) with the real
`@sentry/node` (installed by npm into a cached scratch directory, never a dependency of anything
here). A small CommonJS runner initialises the SDK with a custom transport
(`transport: () => ({send, flush})`, the SDK's `Transport` interface) that writes each
envelope's event item to a file, then runs the scenario, a module exporting
`async ({Sentry, appRequire, request}) => ...`. Frames, in_app flags, module names (relative to
the entry script, as for `node src/server.js`), context lines (the SDK's ContextLines
integration), request data, breadcrumbs and contexts are the SDK's own; the conversion is the
same `ingest_to_api`, with Sentry's JavaScript culprit rule (`function(module)`) when the event
has no transaction.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Unpack

from evals.recording.api_format import capture_to_api
from evals.recording.capture import run_scenario_process, scratch_copy
from evals.recording.common import (
    DEFAULT_NODE_DIR,
    NODE_SDK_PACKAGE,
    Deployment,
    RecorderSetupError,
    deploy_root,
    sdk_init_options,
    write_json,
)

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
  const head = [`${method} ${urlPath} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), '', '']
    .join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.address().port, '127.0.0.1',
      () => socket.end(Buffer.concat([Buffer.from(head), body])));
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
        write_json(path / "package.json", {"name": "autofixer-recorder-node", "private": True})
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
    node_dir: Path | str | None = None,
    node: str = "node",
    host: str = "api.example.com",
    **deployment: Unpack[Deployment],
) -> dict[str, Any]:
    """`{"event": <ingest event>, "received": <epoch seconds>}` from a Node.js scenario run
    under the real @sentry/node against a copy of `project_dir` (see `_NODE_RUNNER`).

    `argv` is accepted for symmetry with the Python recorder; the Node SDK does not report it.
    """
    root = deploy_root(deployment)
    sdk_dir = Path(node_dir) if node_dir else ensure_node_sdk(node=node)
    with scratch_copy(project_dir, prefix="recorder-node-", ignore=("node_modules", ".git")) as scratch:
        copy = scratch.app
        runner = scratch.write("runner.cjs", _NODE_RUNNER)
        scenario_file = scratch.write("scenario.cjs", scenario)
        spec: dict[str, Any] = {
            "entry": _node_entry(copy),
            "projectDir": str(copy),
            "sdkDir": str(sdk_dir.resolve()),
            "scenarioFile": str(scenario_file),
            "out": str(scratch.events),
            "host": host,
            "options": sdk_init_options(release, deployment, server_name_key="serverName"),
        }
        spec_file = scratch.write("spec.json", json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "SENTRY_"))}
        env["NODE_ENV"] = "production"
        run_scenario_process([node, str(runner), str(spec_file)], cwd=copy, env=env)
        # In production the SDK sits in the app's own node_modules.
        path_map = {
            str(copy): root,
            str(sdk_dir.resolve() / "node_modules"): f"{root}/node_modules",
        }
        return scratch.last_error(("error", "default", None), path_map)


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
    return capture_to_api(captured, issue_id=issue_id, project_id=project_id, project_slug=project_slug)
