"""Claude through Amazon Bedrock and Google Vertex AI: the `anthropic` SDK's Bedrock and Vertex
clients, behind the same translation and pricing as the Anthropic provider (Bedrock and Vertex
bill Claude at Anthropic's list prices; their model ids are mapped onto the table's).

Region and project are not secrets and are read from the process environment. Credentials
(secrets, so they are redacted everywhere) come from the cloud's standard environment, read by the SDK:
- Bedrock: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), or AWS_PROFILE, or an
  instance role; or a Bedrock API key in llm.key-env (AUTOFIXER_LLM_KEY) or AWS_BEARER_TOKEN_BEDROCK.
  Region: llm.region, else AWS_REGION.
- Vertex: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth, the
  metadata server), or a short-lived OAuth access token in llm.key-env. Project: llm.project,
  else ANTHROPIC_VERTEX_PROJECT_ID / GOOGLE_CLOUD_PROJECT; region: llm.region, else
  CLOUD_ML_REGION.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from agent.anthropic_provider import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S, AnthropicProvider
from agent.provider import ProviderUnavailable
from agent.settings import LlmConfig
from common.config import ConnectorContext

if TYPE_CHECKING:
    from anthropic import AsyncAnthropicBedrock, AsyncAnthropicVertex

DEFAULT_BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
DEFAULT_VERTEX_MODEL = "claude-sonnet-4-5@20250929"


def _model(llm: LlmConfig, default: str) -> str:
    # LlmConfig's default is an Anthropic API id; each cloud spells Claude's ids its own way.
    return default if "model" not in llm.model_fields_set else llm.model


class BedrockProvider(AnthropicProvider):
    name = "bedrock"

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> AnthropicProvider:
        region = llm.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise ProviderUnavailable("llm.provider bedrock needs llm.region (or AWS_REGION)")
        api_key = context.env(llm.key_env) or context.env("AWS_BEARER_TOKEN_BEDROCK")

        def connect() -> AsyncAnthropicBedrock:
            from anthropic import AsyncAnthropicBedrock  # on first use, like the Anthropic client

            return AsyncAnthropicBedrock(
                aws_region=region, api_key=api_key, aws_access_key=context.env("AWS_ACCESS_KEY_ID"),
                aws_secret_key=context.env("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=context.env("AWS_SESSION_TOKEN"), aws_profile=os.environ.get("AWS_PROFILE"),
                base_url=llm.base_url, timeout=DEFAULT_TIMEOUT_S, max_retries=DEFAULT_MAX_RETRIES,
            )

        return cls(api_key="", model=_model(llm, DEFAULT_BEDROCK_MODEL), connect=connect)  # type: ignore[arg-type]


class VertexProvider(AnthropicProvider):
    name = "vertex"

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> AnthropicProvider:
        project = llm.project or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        region = llm.region or os.environ.get("CLOUD_ML_REGION")
        if not project or not region:
            raise ProviderUnavailable("llm.provider vertex needs llm.project and llm.region "
                                      "(or ANTHROPIC_VERTEX_PROJECT_ID and CLOUD_ML_REGION)")

        def connect() -> AsyncAnthropicVertex:
            from anthropic import AsyncAnthropicVertex

            return AsyncAnthropicVertex(
                project_id=project, region=region, access_token=context.env(llm.key_env), base_url=llm.base_url,
                timeout=DEFAULT_TIMEOUT_S, max_retries=DEFAULT_MAX_RETRIES,
            )

        return cls(api_key="", model=_model(llm, DEFAULT_VERTEX_MODEL), connect=connect)  # type: ignore[arg-type]
