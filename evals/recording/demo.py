"""The bundled demo's recording (server/demo_assets): its event, raw SDK event and webhook."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.recording.api_format import capture_to_api
from evals.recording.common import write_json
from evals.recording.python_sdk import capture_ingest_event
from evals.recording.webhook import issue_webhook

DEMO_ASSETS = Path(__file__).resolve().parents[2] / "server" / "demo_assets"


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
    api = capture_to_api(
        captured, issue_id=DEMO.issue_id, project_id=DEMO.project_id, project_slug=DEMO.project_slug
    )
    webhook = issue_webhook(api, project_slug=DEMO.project_slug, org_slug=DEMO.org_slug)
    write_json(out_dir / "ingest_event.json", captured["event"])
    write_json(out_dir / "event.json", api)
    write_json(out_dir / "webhook.json", webhook)
    return api
