"""What the agent produces: the seed's FixResult and FileChange, plus usage accounting."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field


class Confidence(str, Enum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        return {"LOW": 0, "MEDIUM": 1, "HIGH": 2}[self.value]


class FileChange(BaseModel):
    file: str
    description: str = ""
    original: str = ""  # empty with a new path: create the file
    modified: str


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    steps: int = 0
    tool_calls: int = 0
    # Model turns whose price the provider did not know: their cost_usd is 0 (or an estimate),
    # so the total is "cost unknown" wherever it is shown.
    unpriced_turns: int = 0

    def add(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


class FixResult(BaseModel):
    analysis: str
    root_cause: str
    confidence: Confidence
    changes: list[FileChange] = Field(default_factory=list)
    diff: str = ""  # unified diff of everything applied, as the reviewer will see it
    pr_title: str = ""
    pr_body: str = ""
    reproduction_test: str | None = None  # the new test file the agent says reproduces the error
    exit_reason: str = "submitted"  # submitted | max_steps | max_cost | max_time | malformed_calls | error
    exit_detail: str = ""  # why a run that did not submit ended, in words (the provider's error, the limit)
    usage: Usage = Field(default_factory=Usage)
