"""What runs inside the recording process: the scratch venv's python (a child process started
by evals/recording/python_sdk.py), or this one for a callable scenario.

Imports only the standard library: this file runs as a script in the scratch venv
(`python python_child.py SPEC`), where autofixer's dependencies are absent.

Python scenarios get `wsgi_request` (a gunicorn-like request through a WSGI app) and
`run_as_main` (a CLI's or worker's entry point, whose crash is reported through
`sys.excepthook` like an uncaught exception) in their namespace.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any


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


def init_sdk(spec: Mapping[str, Any]) -> Any:
    """Initialise the real SDK as the spec says, with a transport that appends every captured
    event to `spec["out"]`; returns the `sentry_sdk` module."""
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


def run_in_process(spec: Mapping[str, Any], scenario: Callable[..., Any]) -> None:
    """Run a callable scenario here the way the child process runs source (in the project copy,
    importable, with the deployed argv); the working directory, sys.path and argv are restored."""
    saved_argv, saved_cwd, saved_path = sys.argv[:], os.getcwd(), sys.path[:]
    os.chdir(spec["project_dir"])
    sys.path.insert(0, spec["project_dir"])
    sys.argv = list(spec["argv"])
    try:
        sentry_sdk = init_sdk(spec)
        try:
            params = inspect.signature(scenario).parameters
            scenario(wsgi_request) if params else scenario()
        finally:
            sentry_sdk.flush()
            sentry_sdk.get_client().close()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(saved_cwd)


def child_main(spec_file: str) -> int:
    """The child process: run the spec's scenario source with the SDK initialised (exit 1 if it raised)."""
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    project = spec["project_dir"]
    os.chdir(project)
    sys.path.insert(0, project)
    sys.argv = list(spec["argv"])  # what the argv integration reports, as in the deployed process
    sentry_sdk = init_sdk(spec)
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


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
