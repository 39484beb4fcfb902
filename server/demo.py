"""`autofixer demo`: watch a recorded Sentry error become a fix, offline, with no keys.

The real service runs in-process on a free port: a signed recorded webhook goes in, the real
job fetches the recorded event from a local stand-in for the Sentry API, checks out a real git
clone of the bundled sample project, and runs the real agent and tools. The model is Claude
when AUTOFIXER_LLM_KEY or ANTHROPIC_API_KEY is set, otherwise recorded turns — and everything
that is replayed says so. The sample's tests really run, in the sandbox: the agent's run_tests
calls (its reproduction test failing, then the suite passing) and the pipeline's own validation,
whose verdict is the pull request's Validation section. Where no sandbox can start, the demo
still runs and says why the fix was not validated.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request

from agent.transcript import read_transcript, transcript_path
from common.git import Git
from domain.validation import Validation
from server import logs
from server.config import Secrets, Settings, parse_settings
from server.demo_forge import LABELS as STAND_IN_LABELS
from server.demo_forge import REPOS as STAND_IN_REPOS
from server.demo_forge import ForgeStandIn
from server.http.app import create_app
from server.metrics import Metrics
from sources.sentry.webhook import sign

ORG = "acme"
PROJECT = "shop"
REPLAYED = "REPLAYED"
DEMO_GIT_CONFIG = ("user.name=autofixer demo", "user.email=demo@autofixer.invalid", "init.defaultBranch=main")


def _assets() -> Path:
    return Path(str(resources.files("server.demo_assets")))


def _say(text: str = "") -> None:
    print(text, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _git(cwd: Path, *args: str) -> str:
    return Git(cwd=cwd, config=DEMO_GIT_CONFIG).run(*args).text


def prepare_repository(workdir: Path) -> Path:
    """The sample project as a git repository behind a local bare 'origin' (the clone URL)."""
    source = workdir / "shop"
    shutil.copytree(_assets() / "sample", source, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    _git(source, "init", "-q")
    _git(source, "add", "-A")
    _git(source, "commit", "-q", "-m", "shop 1.4.2")
    origin = workdir / "origin.git"
    _git(workdir, "clone", "-q", "--bare", str(source), str(origin))
    return origin


def sentry_stand_in(event: dict[str, Any], token: str) -> Quart:
    """Serves the recorded event as Sentry's API would. A replay, and it says so in a header."""
    app = Quart("sentry-replay")
    issue_id = str(event["groupID"])

    @app.get(f"/api/0/organizations/{ORG}/issues/<issue>/events/latest/")
    async def latest(issue: str) -> Response:
        if request.headers.get("Authorization") != f"Bearer {token}":
            return Response(json.dumps({"detail": "Invalid token"}), 401, content_type="application/json")
        if issue != issue_id:
            return Response(json.dumps({"detail": "The requested resource does not exist"}), 404,
                            content_type="application/json")
        return Response(json.dumps(event), 200, content_type="application/json",
                        headers={"X-Autofixer-Demo": "replayed recorded event"})

    return app


def _settings(workdir: Path, sentry_url: str, origin: Path, live: dict[str, Any] | None,
              forge: tuple[ForgeStandIn, str] | None = None) -> Settings:
    llm: dict[str, Any] = live if live is not None else {
        "provider": "replay", "replay-file": str(_assets() / "turns.json"),
    }
    # --scm: a real merge/pull request through the forge's provider, to the local stand-in.
    scm = {} if forge is None else {"scm": {"type": forge[0].kind, "base-url": forge[0].api_root(forge[1])}}
    repo = f"{ORG}/{PROJECT}" if forge is None else STAND_IN_REPOS[forge[0].kind]
    return parse_settings({
        "source": {"type": "sentry", "base-url": sentry_url, "org": ORG},
        **scm,
        "llm": {**llm, "max-steps": 20, "max-cost-usd": 1.0},
        # The sample's tests are plain unittest: its environment needs nothing from a registry.
        "projects": [{"source-project": PROJECT, "scm-repo": repo, "clone-url": str(origin),
                      "tests": {"runner": "unittest", "test-dir": "tests", "timeout-seconds": 120}}],
        "behavior": {"dry-run": forge is None},
        "worker": {"concurrency": 1, "poll-interval-seconds": 0.1},
        "server": {"host": "127.0.0.1", "port": _free_port()},
        "state-dir": str(workdir / "state"),
    }, source="demo")


async def _serve(app: Quart, port: int, stop: asyncio.Event, health: str = "/health") -> asyncio.Task[None]:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(f"http://127.0.0.1:{port}{health}")
                return task
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def live_llm(provider: str | None, model: str | None, base_url: str | None) -> dict[str, Any] | None:
    """The `llm:` section of a live demo: the provider asked for (`--llm`, any registered one),
    else Claude when a key is set; None replays the recorded turns."""
    llm_key = os.environ.get("AUTOFIXER_LLM_KEY") or os.environ.get("ANTHROPIC_API_KEY")
    if provider in (None, "anthropic", "claude") and not llm_key:
        return None
    section: dict[str, Any] = {"provider": provider or "anthropic"}
    if model:
        section["model"] = model
    if base_url:
        section["base-url"] = base_url
    return section


async def run_demo(workdir: Path, llm: dict[str, Any] | None = None, scm: str | None = None) -> int:
    live = llm is not None
    event = json.loads((_assets() / "event.json").read_text())
    webhook = (_assets() / "webhook.json").read_bytes()
    sentry_token, webhook_secret = secrets.token_hex(16), secrets.token_hex(16)

    _say("autofixer demo — a recorded Sentry error in a bundled sample shop, fixed end to end")
    _say(f"  work dir: {workdir}")
    _say(f"  Sentry API: {REPLAYED} — a local stand-in serves the recorded event (server/demo_assets/event.json)")
    _say(f"  model: {llm['provider']} {llm.get('model', '(default model)')}, live" if llm is not None else
         f"  model: {REPLAYED} — recorded model turns (server/demo_assets/turns.json); "
         "set AUTOFIXER_LLM_KEY to watch Claude do it live, or pass --llm PROVIDER --model M")
    _say()
    origin = prepare_repository(workdir)
    _say(f"[1/5] sample project committed to a local git origin: {origin}")

    sentry_port = _free_port()
    forge = None if scm is None else (ForgeStandIn(scm, secrets.token_hex(16)), f"http://127.0.0.1:{_free_port()}")
    settings = _settings(workdir, f"http://127.0.0.1:{sentry_port}", origin, llm, forge)
    # A live provider reads its key (and the vendor's variables) from the environment; Secrets
    # takes only the variables the configuration names.
    env_secrets = Secrets(settings, environ={
        **(os.environ if live else {}),
        "AUTOFIXER_SENTRY_TOKEN": sentry_token, "AUTOFIXER_WEBHOOK_SECRET": webhook_secret,
        **({settings.scm_configs[0].token_env: forge[0].token} if forge else {}),  # type: ignore[attr-defined]
    })
    logs.configure("WARNING", env_secrets.values())
    stop = asyncio.Event()
    tasks = [await _serve(sentry_stand_in(event, sentry_token), sentry_port, stop)]
    if forge is not None:
        tasks.append(await _serve(forge[0].app(), int(forge[1].rsplit(":", 1)[1]), stop, health="/"))
        _say(f"  forge: {STAND_IN_LABELS[forge[0].kind]} STAND-IN — a local stand-in for its REST API at "
             f"{forge[1]} (server/demo_forge.py); the branch is pushed to the local origin")
    tasks.append(await _serve(create_app(settings, env_secrets, Metrics()), settings.server.port, stop))
    base = f"http://127.0.0.1:{settings.server.port}"
    _say(f"[2/5] autofixer service running at {base} (job store: {settings.state_dir})")
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(f"{base}/api/webhook/sentry", content=webhook, headers={
                "Content-Type": "application/json", "Sentry-Hook-Resource": "issue",
                "Sentry-Hook-Timestamp": str(int(time.time())), "Sentry-Hook-Signature": sign(webhook, webhook_secret),
            })
            _say(f"[3/5] signed issue.created webhook for issue {event['groupID']} -> "
                 f"HTTP {response.status_code} {response.json().get('status')}")
            job_id = response.json()["job_id"]
            job = await _follow(client, base, job_id, settings.state_dir)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return _report(job, origin, workdir, live, None if forge is None else STAND_IN_LABELS[forge[0].kind])


async def _follow(client: httpx.AsyncClient, base: str, job_id: str, state_dir: Path) -> dict[str, Any]:
    """Poll the job, printing each stage and each tool call of the agent as it happens."""
    seen_stage, seen_records = None, 0
    path = transcript_path(state_dir, job_id)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        job = (await client.get(f"{base}/api/jobs/{job_id}")).json()
        if path.exists():  # the agent's steps first: the stage may already have moved past them
            records = read_transcript(path)
            for record in records[seen_records:]:
                if record["kind"] == "tool_call":
                    args = json.dumps(record.get("arguments"), ensure_ascii=False)
                    more = "…" if len(args) > 100 else ""
                    _say(f"        step {record['step']}: {record['name']} {args[:100]}{more}")
                elif record["kind"] == "tool_result" and record.get("name") == "run_tests":
                    # Not replayed: the sample's tests really ran, in the sandbox.
                    _say(f"          -> {str(record.get('content', '')).splitlines()[0][:100]}  [real test run]")
            seen_records = len(records)
        if job.get("stage") != seen_stage and job.get("stage"):
            seen_stage = job["stage"]
            _say(f"[4/5] job {job_id}: {seen_stage.replace('_', ' ')}")
        if job.get("status") in ("done", "skipped", "failed", "ignored"):
            return job
        await asyncio.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not finish")


def _report(job: dict[str, Any], origin: Path, workdir: Path, live: bool, forge: str | None = None) -> int:
    outcome = job.get("outcome") or {}
    fix, pr = outcome.get("fix"), outcome.get("publication")
    _say()
    if not fix or not pr:
        _say(f"The job ended {outcome.get('state')}: {outcome.get('reason')}")
        return 1
    label = "" if live else f"  [{REPLAYED} model turns]"
    _say(f"[5/5] fix ready — confidence {fix['confidence']}, {len(fix['changes'])} change(s){label}")
    _say(f"  root cause: {fix['root_cause']}")
    validation = Validation.model_validate(outcome["validation"]) if outcome.get("validation") else None
    if validation is None:
        _say("  validation: none (the job ran no validate step)")
    elif validation.verdict == "unavailable":
        _say(f"  validation skipped, the tests cannot run on this machine: {validation.reason}")
    else:  # not replayed: the pipeline ran the sample's tests itself, in the sandbox
        _say(f"  validation (real test runs, not replayed): {validation.verdict} — {validation.reason}")
    _say(f"  branch {pr['branch']} {'pushed to ' + str(origin) if pr['pushed'] else 'not pushed'}")
    _say(f"  pull request: {pr['state']} — {pr['reason']}")
    _say()
    _say("=" * 78)
    if forge is None:
        _say(f"Pull request that would be opened (dry run){label}")
    else:
        _say(f"Opened on the {forge} STAND-IN: #{pr['pr_number']} {pr['pr_url']}{label}")
    _say(f"  {pr['branch']} -> main   labels: {', '.join(pr['labels'])}")
    _say(f"  title: {pr['title']}")
    _say("-" * 78)
    _say(pr["body"].strip())
    _say("-" * 78)
    _say(fix["diff"].rstrip())
    _say("=" * 78)
    usage = fix["usage"]
    _say(f"\nmodel usage: {usage['steps']} turns, {usage['tool_calls']} tool calls, "
         f"{usage['input_tokens'] + usage['cache_read_tokens'] + usage['cache_write_tokens']} input / "
         f"{usage['output_tokens']} output tokens, ${usage['cost_usd']:.4f}{' (replayed figures)' if not live else ''}")
    # A fix the tests contradict is a failed demo; one that could not be validated here is not.
    return 0 if pr["pushed"] and (validation is None or validation.verdict in ("validated", "unavailable")) else 1


def main(keep: bool = False, workdir: str | None = None, scm: str | None = None,
         llm: dict[str, Any] | None = None, started: float | None = None) -> int:
    """`started`: when the command started (time.monotonic()), so the wall time reported is the
    user's, start-up, the sample's tests and the clean-up included."""
    started = time.monotonic() if started is None else started
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="autofixer-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(run_demo(root, llm, scm))
    finally:
        if not keep and not workdir:
            shutil.rmtree(root, ignore_errors=True)
        _say(f"demo finished in {time.monotonic() - started:.1f} s (wall time of the whole command)")
