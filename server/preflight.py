"""What `serve` checks before it accepts a webhook: problems the first job would otherwise hit.

A configuration error stops start-up (exit 2, one line). What can be fixed while the service
runs (a token not set yet) is reported as a warning line per problem, before the port opens, so
an operator reads it at start-up rather than in the first failed job.
"""

from __future__ import annotations

import errno
import socket

from common.git import is_local_url
from server import connectors
from server.config import Secrets, Settings


def warnings(settings: Settings, secrets: Secrets, built: connectors.Connectors | None = None) -> list[str]:
    from agent.provider import ProviderUnavailable

    built = built or connectors.Connectors.build(settings, secrets)

    found: list[str] = []
    try:
        connectors.build_provider(settings.llm, connectors.context(settings, secrets))
    except ProviderUnavailable as exc:
        found.append(f"llm: {exc}; every fix job will fail until it is set")
    for name, source in built.sources.items():
        if not getattr(source, "accepts_webhooks", True):
            found.append(f"source {name}: its webhook secret is not set; every webhook to /api/webhook/{name} "
                         "will be refused (401)")
    for project in settings.projects:
        forge = built.forges[settings.scm_of(project)]
        remote = project.clone_url or forge.clone_url(project.scm_repo)
        if forge.git_token() is None and not is_local_url(remote) and not settings.behavior.dry_run:
            found.append(f"project {project.source_project}: forge {forge.name} has no token (its token-env "
                         "variable is not set): private repositories cannot be cloned and no pull request opened")
    found += sandbox_warnings(settings)
    return found


def sandbox_warnings(settings: Settings) -> list[str]:
    """`sandbox: none`, or a sandbox that cannot start while projects have tests to run."""
    from execution.engine import TestEngine

    tested = [p.source_project for p in settings.projects if p.tests is not None]
    if settings.sandbox == "none":
        return ["sandbox: none: the projects' tests and LLM-written code run WITHOUT isolation (they can reach "
                "the network, this machine's files and processes); use it only on a machine that holds nothing else"]
    if tested and (reason := TestEngine(settings.state_dir, settings.sandbox).unavailable()) is not None:
        return [f"projects {', '.join(tested)}: their tests cannot run: {reason}"]
    return []


def port_problem(host: str, port: int) -> str | None:
    """Why the service could not listen on host:port, or None (checked before anything starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as hypercorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"cannot listen on {host}:{port}: the port is in use (another autofixer? set --port)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None
