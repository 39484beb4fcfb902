"""The composition root: every connector by name, and the functions that build them from config.

Adding a connector is one module (its class, with a nested `Config` model and `from_config`),
its tests, and one line in the registry below. Entries are "module:Class" strings so a
process imports only the connectors its configuration uses (an SDK import costs start-up time).

    kind       protocol                  registry
    source     sources/base.py           SOURCES
    forge      scm/base.py               FORGES
    provider   agent/provider.py         PROVIDERS
    notifier   notify/base.py            NOTIFIERS
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common.config import ConnectorConfig, ConnectorContext

if TYPE_CHECKING:
    from agent.provider import ModelProvider
    from agent.settings import LlmConfig
    from notify.base import Notifier
    from scm.base import ScmProvider
    from server.config import Secrets, Settings
    from sources.base import ErrorSource

SOURCES: dict[str, str] = {
    "sentry": "sources.sentry.source:SentrySource",
    "datadog": "sources.datadog.source:DatadogSource",
    "rollbar": "sources.rollbar.source:RollbarSource",
}
FORGES: dict[str, str] = {
    "github": "scm.github:GitHubProvider",
    "gitlab": "scm.gitlab:GitLabProvider",
    "bitbucket": "scm.bitbucket:BitbucketProvider",
    "bitbucket-datacenter": "scm.bitbucket_datacenter:BitbucketDataCenterProvider",
}
PROVIDERS: dict[str, str] = {
    "anthropic": "agent.anthropic_provider:AnthropicProvider",
    "claude": "agent.anthropic_provider:AnthropicProvider",  # the seed's spelling
    "replay": "agent.replay_provider:ReplayProvider",
    "openai": "agent.openai_provider:OpenAIProvider",
    "azure-openai": "agent.openai_provider:AzureOpenAIProvider",
    "openai-compatible": "agent.openai_provider:OpenAICompatibleProvider",
    "ollama": "agent.ollama_provider:OllamaProvider",
    "bedrock": "agent.cloud_anthropic_provider:BedrockProvider",
    "vertex": "agent.cloud_anthropic_provider:VertexProvider",
}
NOTIFIERS: dict[str, str] = {
    "log": "notify.log:LogNotifier",
    "slack": "notify.slack:SlackNotifier",
    "discord": "notify.discord:DiscordNotifier",
    "teams": "notify.teams:TeamsNotifier",
    "webhook": "notify.webhook:WebhookNotifier",
}

_REGISTRIES = {"source": SOURCES, "forge": FORGES, "provider": PROVIDERS, "notifier": NOTIFIERS}


def names(kind: str) -> list[str]:
    return sorted(_REGISTRIES[kind])


def connector_class(kind: str, type_name: str) -> Any:
    """The class registered as `type_name`, or None when there is none."""
    target = _REGISTRIES[kind].get(type_name)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def config_model(kind: str, type_name: str) -> type[ConnectorConfig] | None:
    cls = connector_class(kind, type_name)
    return None if cls is None else cls.Config


def context(settings: Settings, secrets: Secrets) -> ConnectorContext:
    return ConnectorContext(env=secrets.get, max_attempts=settings.worker.sentry_max_attempts,
                            backoff_seconds=settings.worker.sentry_backoff_seconds, state_dir=settings.state_dir)


def build_sources(settings: Settings, secrets: Secrets) -> dict[str, ErrorSource]:
    ctx = context(settings, secrets)
    return {c.key: connector_class("source", c.type)(c, ctx) for c in settings.source_configs}


def build_forges(settings: Settings, secrets: Secrets) -> dict[str, ScmProvider]:
    ctx = context(settings, secrets)
    return {c.key: connector_class("forge", c.type).from_config(c, ctx) for c in settings.scm_configs}


def build_notifiers(settings: Settings, secrets: Secrets) -> list[Notifier]:
    ctx = context(settings, secrets)
    configs = settings.notify_configs or [config_model("notifier", "log")()]  # type: ignore[misc]
    return [connector_class("notifier", c.type)(c, ctx) for c in configs]


def build_provider(llm: LlmConfig, env: ConnectorContext) -> ModelProvider:
    """The configured model provider; raises ProviderUnavailable when it cannot start (no key)."""
    cls = connector_class("provider", llm.provider)
    if cls is None:
        from agent.provider import ProviderUnavailable

        raise ProviderUnavailable(f"llm.provider {llm.provider!r} is unknown (known: {', '.join(names('provider'))})")
    provider: ModelProvider = cls.from_config(llm, env)
    return provider


@dataclass
class Connectors:
    """Every configured source, forge and notifier, built once per process: the start-up check,
    the webhook routes and the jobs use the same instances (and so the same connection pools,
    a forge's write lock and spacing), and shutdown closes them."""

    sources: dict[str, ErrorSource]
    forges: dict[str, ScmProvider]
    notifiers: list[Notifier]

    @classmethod
    def build(cls, settings: Settings, secrets: Secrets) -> Connectors:
        return cls(sources=build_sources(settings, secrets), forges=build_forges(settings, secrets),
                   notifiers=build_notifiers(settings, secrets))

    async def aclose(self) -> None:
        """Release every connector's pooled connections."""
        for connector in [*self.sources.values(), *self.forges.values(), *self.notifiers]:
            close = getattr(connector, "aclose", None)  # a notifier that holds no client has none
            if close is not None:
                await close()
