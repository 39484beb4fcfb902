"""`autofixer` command line: serve, demo, event show."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.config import Settings

STARTED = time.monotonic()  # as the command started: `autofixer demo` reports its wall time from here


EXAMPLES = """\
examples:
  autofixer demo                              watch a recorded Sentry error become a fix, offline
  autofixer serve --config autofixer.yml      run the webhook service
  autofixer event show event.json             print an event as the agent will see it
  autofixer event show 1170820242 --json      fetch an issue's latest event from Sentry
  autofixer retry sentry:my-org:1170820242    run a failed job again
"""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # Imported once a command runs, so `--help` and usage errors answer without loading pydantic.
    from server.config import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"autofixer: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `autofixer event show … | head`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not raise again
        return 141


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autofixer",
        description="Turn production errors (Sentry) into reviewed-ready fix pull requests.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML config file (default: $AUTOFIXER_CONFIG or ./autofixer.yml)")
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the webhook service and the fix workers")
    serve.add_argument("--host", help="bind address (default from config: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from config: 8080)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.set_defaults(func=_serve)

    demo = sub.add_parser(
        "demo", help="watch a recorded Sentry error become a fix, offline (no keys, no servers)",
        description="Runs the real service, job, agent and tools on a bundled sample project. The Sentry "
        "event is a recording served by a local stand-in, and without AUTOFIXER_LLM_KEY the model turns "
        "are a recording too; both are labelled REPLAYED in the output.",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    demo.add_argument("--workdir", help="use this directory (kept) instead of a temporary one")
    demo.add_argument("--scm", choices=("gitlab", "bitbucket", "bitbucket-datacenter"),
                      help="open a real merge/pull request through this forge's provider, "
                           "against a local stand-in for its API")
    demo.add_argument("--llm", help="run the model live with this provider (openai, ollama, openai-compatible, "
                      "azure-openai, bedrock, vertex, anthropic); default: Claude when AUTOFIXER_LLM_KEY is set")
    demo.add_argument("--model", help="the model for --llm")
    demo.add_argument("--base-url", help="the API base URL for --llm (Ollama, a compatible server, Azure)")
    demo.set_defaults(func=_demo)

    from server.mcp.cli import add_mcp_parser

    add_mcp_parser(sub)

    retry = sub.add_parser("retry", help="run a failed job again (e.g. after an outage outlasted its retries)")
    retry.add_argument("job_id", help="the job id, e.g. sentry:my-org:1170820242")
    retry.add_argument("--url", help="the running service (default: from the config's server.host/port)")
    retry.set_defaults(func=_retry)

    sweep = sub.add_parser("sweep", help="queue fixes for unresolved issues no webhook reported (polling)",
                           description="Lists each source's newest unresolved issues and queues a job per issue "
                           "that passes the trigger rules, under the id a webhook would use (never a duplicate). "
                           "The service (autofixer serve, same configuration) runs the jobs.")
    sweep.add_argument("--source", help="only this configured source (default: every source)")
    sweep.add_argument("--limit", type=int, default=25, help="issues per source (default 25)")
    sweep.add_argument("--since", default="24h", help="only issues seen within this long (default 24h; 0: any age)")
    sweep.set_defaults(func=_sweep)

    event = sub.add_parser("event", help="inspect error events")
    event_sub = event.add_subparsers(metavar="ACTION")
    show = event_sub.add_parser("show", help="print the normalised event as the agent will see it")
    show.add_argument("source", help="a Sentry JSON file (API, ingest or webhook format), or an issue id to fetch")
    show.add_argument("--from", dest="from_source", metavar="NAME",
                      help="the configured source to fetch the issue from (default: the first in sources)")
    show.add_argument("--json", action="store_true", help="print the normalised model as JSON")
    show.set_defaults(func=_event_show)

    from evals.cli import add_eval_parser

    add_eval_parser(sub)
    _accept_config_after_the_command(parser)
    return parser


def _accept_config_after_the_command(parser: argparse.ArgumentParser) -> None:
    """`autofixer serve --config X` and `autofixer --config X serve` both work: every
    subcommand also takes --config (SUPPRESS keeps an absent one from hiding the top-level)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if "--config" not in child._option_string_actions:
                    child.add_argument("--config", default=argparse.SUPPRESS,
                                       help="YAML config file (default: $AUTOFIXER_CONFIG or ./autofixer.yml)")
                _accept_config_after_the_command(child)


def _without_postgres_driver(settings: Settings) -> None:
    """DBOS imports psycopg even for a SQLite job store: not loaded until it is really used."""
    if settings.system_database_url.startswith("sqlite"):
        from common.deferred_import import defer

        defer("psycopg", "psycopg.errors")


def _serve(args: argparse.Namespace) -> int:
    from server.config import Secrets, load_settings

    # The configuration first: a bad file is answered before any heavy SDK is imported.
    settings = load_settings(args.config)
    if args.host:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    _without_postgres_driver(settings)
    from server import logs, preflight
    from server.connectors import Connectors
    from server.http import admin_token

    secrets = Secrets(settings)
    logs.configure(args.log_level, [*secrets.values(), admin_token.ensure(settings.state_dir)])
    built = Connectors.build(settings, secrets)  # once: the check, the webhook routes and the jobs share them
    for warning in preflight.warnings(settings, secrets, built):
        print(f"autofixer: warning: {warning}", file=sys.stderr)
    if busy := preflight.port_problem(settings.server.host, settings.server.port):
        print(f"autofixer: {busy}", file=sys.stderr)
        return 2

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from server.http.app import create_app
    from server.metrics import Metrics

    app = create_app(settings, secrets, Metrics(), built=built)
    config = Config()
    config.bind = [f"{settings.server.host}:{settings.server.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # ours (logfmt), not a second handler of its own
    config.graceful_timeout = 5
    print(f"autofixer: serving on http://{settings.server.host}:{settings.server.port} "
          f"(state in {settings.state_dir})", file=sys.stderr, flush=True)
    import asyncio

    asyncio.run(serve(app, config))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from server.config import load_settings
    from server.pipeline.sweep_cli import run_sweep

    return run_sweep(load_settings(args.config), source=args.source, limit=args.limit, since=args.since)


def _demo(args: argparse.Namespace) -> int:
    from common.deferred_import import defer

    defer("psycopg", "psycopg.errors")  # the demo's job store is always SQLite (see _without_postgres_driver)
    from server import demo

    return demo.main(keep=args.keep, workdir=args.workdir, scm=args.scm,
                     llm=demo.live_llm(args.llm, args.model, args.base_url), started=STARTED)


def _retry(args: argparse.Namespace) -> int:
    import httpx

    from server.config import Secrets, load_settings

    settings = load_settings(args.config)
    host = "127.0.0.1" if settings.server.host in ("0.0.0.0", "::") else settings.server.host
    url = (args.url or f"http://{host}:{settings.server.port}").rstrip("/")
    from server.http import admin_token

    # The operator's token, else the one the service wrote into the state dir we share with it.
    token = Secrets(settings).api_token or admin_token.read(settings.state_dir)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(f"{url}/api/jobs/{args.job_id}/retry", headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        print(f"autofixer: cannot reach the service at {url}: {exc}", file=sys.stderr)
        return 1
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code == 202:
        print(f"{args.job_id}: queued again")
        return 0
    print(f"autofixer: {body.get('error') or f'HTTP {response.status_code}'}", file=sys.stderr)
    return 1


def _event_show(args: argparse.Namespace) -> int:
    from sources.sentry.parser import parse_event, parse_webhook_event
    from tools.stacktrace import render_event

    path = Path(args.source)
    if path.exists():
        data = _load_json(path)
        if not _is_webhook(data) and not _looks_like_event(_unwrap(data)):
            print(f"autofixer: {args.source}: not a Sentry event (no exception, message or stack trace); "
                  "give an event in API, ingest or webhook format", file=sys.stderr)
            return 1
        event = parse_webhook_event(data) if _is_webhook(data) else parse_event(_unwrap(data))
    elif re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", args.source):
        import asyncio

        from server.config import load_settings

        settings = load_settings(args.config)
        event = asyncio.run(_fetch_event(settings, args.source, args.from_source))
        if isinstance(event, str):
            print(f"autofixer: {event}", file=sys.stderr)
            return 1
    else:
        print(f"autofixer: {args.source}: no such file, and not an issue id", file=sys.stderr)
        return 2
    if event is None:
        print(f"autofixer: {args.source}: holds no event", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(event.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(render_event(event, None, None))
    return 0


async def _fetch_event(settings: Settings, issue_id: str, name: str | None) -> Any:
    from server.config import Secrets

    """The issue's latest event, or the reason it could not be fetched."""
    from server import connectors
    from sources.base import SourceError, latest_event

    sources = connectors.build_sources(settings, Secrets(settings))
    source = sources.get(name) if name else next(iter(sources.values()))
    if source is None:
        return f"--from {name}: no such source (configured: {', '.join(sources)})"
    try:
        return await latest_event(source, issue_id)
    except SourceError as exc:
        return exc.reason


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"autofixer: {path}: not a readable JSON file ({exc})") from None


# What every Sentry event format carries at least one of (API: entries; ingest/stored: the rest).
_EVENT_BODY_KEYS = {"entries", "exception", "message", "logentry", "threads", "stacktrace",
                    "sentry.interfaces.Exception", "sentry.interfaces.Message", "sentry.interfaces.Stacktrace"}


def _looks_like_event(data: Any) -> bool:
    return isinstance(data, dict) and bool(_EVENT_BODY_KEYS & data.keys())


def _is_webhook(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("data"), dict) and "action" in data


def _unwrap(data: Any) -> Any:
    """Accept the wrappers our fixtures and Seer requests use around an API-format event."""
    if isinstance(data, dict) and isinstance(data.get("issue"), dict) and data["issue"].get("events"):
        return data["issue"]["events"][0]
    return data


if __name__ == "__main__":
    sys.exit(main())
