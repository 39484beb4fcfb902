"""The `llm:` section of the configuration: which provider, which model, and the run's limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    # The model's context window in tokens. None: asked from the provider where it can tell
    # (Ollama's /api/show), else the provider's default. The first message and tool outputs are
    # trimmed to fit it.
    context_window: int | None = Field(None, ge=1024)
    temperature: float | None = Field(None, ge=0, le=2)  # not sent to reasoning models
    # Azure OpenAI: the deployment (default: the model name) and the API version.
    deployment: str | None = None
    api_version: str | None = None
    region: str | None = None  # Bedrock: the AWS region (default: AWS_REGION)
    project: str | None = None  # Vertex: the Google Cloud project (default: from the credentials)
    # Ollama: how long the model stays loaded after a call ("5m", "1h", "-1" forever).
    keep_alive: str | None = None
    # How the model calls tools. "native": the API's tool calling; "json": tools are described in
    # the system prompt and the model answers with one JSON object (models without tool calling).
    tool_calling: Literal["native", "json"] = "native"
    # Chat Completions servers whose chat template drops `role: tool` messages (llama.cpp's
    # chatml-function-calling) get tool results as a user message instead.
    tool_result_role: Literal["tool", "user"] = "tool"
    # A price for a model the provider's table does not know (USD per million tokens): without
    # it such a model's cost is reported as unknown and max-cost-usd cannot be enforced.
    input_price_per_mtok: float | None = Field(None, ge=0)
    output_price_per_mtok: float | None = Field(None, ge=0)

    def secret_env_names(self) -> list[str]:
        # The vendors' usual variables are secrets too: read through the same redacting lookup.
        return [self.key_env, *VENDOR_SECRET_ENV.get(self.provider, ())]


VENDOR_SECRET_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "azure-openai": ("AZURE_OPENAI_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"),
}
