"""The process-wide services a running job uses, set once at startup.

DBOS workflows and steps must be module-level functions, so they cannot receive these as
arguments; they call `services()` instead.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

from agent.provider import ModelProvider, ProviderUnavailable
from execution.engine import TestEngine
from notify.base import Notifier
from scm.base import ScmProvider
from server import connectors
from server.config import ProjectConfig, Secrets, Settings
from server.metrics import Metrics
from sources.base import ErrorSource, SourceError
from tools.workspace import Workspaces


@dataclass
class Services:
    """What running jobs need: the configuration and every connector, built once."""

    settings: Settings
    secrets: Secrets
    metrics: Metrics
    workspaces: Workspaces
    sources: dict[str, ErrorSource] = field(default_factory=dict)
    # One provider per forge per process, so its write lock and spacing hold across jobs.
    forges: dict[str, ScmProvider] = field(default_factory=dict)
    notifiers: list[Notifier] = field(default_factory=list)
    _provider: ModelProvider | None = field(default=None, repr=False)
    # Jobs load the provider on worker threads (load_provider): one builds it, the others wait.
    _provider_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _engine: TestEngine | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, secrets: Secrets, metrics: Metrics, workspaces: Workspaces,
              built: connectors.Connectors | None = None) -> Services:
        """The services over `built` (the connectors the process already made), else new ones."""
        built = built or connectors.Connectors.build(settings, secrets)
        return cls(settings=settings, secrets=secrets, metrics=metrics, workspaces=workspaces,
                   sources=built.sources, forges=built.forges, notifiers=built.notifiers)

    def source(self, name: str) -> ErrorSource:
        found = self.sources.get(name)
        if found is None:
            raise SourceError(f"no source named {name!r} is configured (sources: {', '.join(self.sources)})")
        return found

    def forge_for(self, project: ProjectConfig) -> ScmProvider:
        return self.forges[self.settings.scm_of(project)]

    @property
    def engine(self) -> TestEngine:
        """Runs the projects' tests in the sandbox: one per process, so its environments are
        built once and its sandbox probed once."""
        if self._engine is None:
            self._engine = TestEngine(self.settings.state_dir, self.settings.sandbox)
        return self._engine

    def provider(self) -> ModelProvider:
        """The configured model provider, built on first use (raises ProviderUnavailable); cached
        so the SDK client keeps its connection pool between turns."""
        with self._provider_lock:
            if self._provider is None:
                context = connectors.context(self.settings, self.secrets)
                self._provider = connectors.build_provider(self.settings.llm, context)
            return self._provider

    def load_provider(self) -> None:
        """Build the provider and its SDK client (on a worker thread, when a job first needs it):
        the SDK is imported on first use, and doing that on the event loop would stall every
        webhook for the ~0.7 s the import takes. Not at start-up: the SDK is ~40 MiB an idle
        service that has not run a job yet does not need."""
        with contextlib.suppress(ProviderUnavailable):  # preflight has already said so
            getattr(self.provider(), "client", None)  # the SDK-backed providers make their client lazily


_services: Services | None = None


def configure(value: Services) -> None:
    global _services
    _services = value


def services() -> Services:
    if _services is None:
        raise RuntimeError("services used before server.pipeline.services.configure()")
    return _services
