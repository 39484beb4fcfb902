"""The `llm:` section of the configuration: which provider, which model, and the run's limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agent.pricing import DEFAULT_MODEL
from common.config import Section


class LlmConfig(Section):
    provider: str = "anthropic"  # a name from the provider registry (server/connectors.py)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    key_env: str = "AUTOFIXER_LLM_KEY"  # the variable holding the API key (never the key itself)
    max_steps: int = Field(30, ge=1, le=500)
    max_cost_usd: float = Field(2.0, gt=0)
    max_wall_seconds: float = Field(600, gt=0)
    replay_file: Path | None = None  # provider "replay": recorded turns to play (demo, offline evals)

    def secret_env_names(self) -> list[str]:
        return [self.key_env]
