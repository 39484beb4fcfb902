"""A provider that plays recorded model turns instead of calling an LLM.

Used by `autofixer demo` without an API key, by offline evals and by tests. Everything it
produces is a replay, and it says so: its name is "replay" and the recording's label travels
with it, so no output can pass a replayed run off as a live model's work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.pricing import RecordedPricing
from agent.provider import ModelTurn, ProviderError, ProviderUnavailable
from agent.settings import LlmConfig
from common.config import ConnectorContext


class Recording(BaseModel):
    label: str  # where the turns came from, shown wherever the run is reported
    model: str = "replay"  # the model that produced the turns originally, if known
    prompt_version: str | None = None  # prompts the turns were recorded against
    turns: list[ModelTurn] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Recording:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


class ReplayProvider:
    name = "replay"
    pricing = RecordedPricing()

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> ReplayProvider:
        if not llm.replay_file:
            raise ProviderUnavailable("llm.provider is replay but llm.replay-file is not set")
        try:
            return cls(Recording.load(llm.replay_file))
        except OSError as exc:
            raise ProviderUnavailable(f"llm.replay-file {llm.replay_file}: cannot be read ({exc.strerror})") from None
        except ValueError as exc:  # not JSON, or not a recording (pydantic's ValidationError is a ValueError)
            raise ProviderUnavailable(f"llm.replay-file {llm.replay_file}: not a recording of model turns "
                                      f"({type(exc).__name__})") from None

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.model = f"replay:{recording.model}"

    @property
    def label(self) -> str:
        return f"REPLAYED model turns ({self.recording.label})"

    async def complete(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, max_tokens: int | None = None
    ) -> ModelTurn:
        # The turn to play is the number of turns already in the conversation: no state of our
        # own, so a run resumed after a crash, or several runs at once, replay correctly.
        index = sum(1 for m in messages if m.get("role") == "assistant")
        if index >= len(self.recording.turns):
            raise ProviderError(
                f"the recording has no turn {index + 1}: the run asked for more turns than were recorded "
                f"({len(self.recording.turns)})"
            )
        return self.recording.turns[index].model_copy(update={"model": self.model})
