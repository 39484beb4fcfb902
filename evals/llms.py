"""Who can play the model in an eval: names only, so `autofixer --help` lists them without
importing the runner (and through it the agent loop and every tool)."""

from __future__ import annotations

LIVE_LLMS = ("anthropic", "openai", "azure-openai", "openai-compatible", "ollama", "bedrock", "vertex")
OFFLINE_LLMS = ("replay", "oracle", "null")
LLM_CHOICES = (*LIVE_LLMS, *OFFLINE_LLMS)
