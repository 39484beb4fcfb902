"""Context budgets: what one model's window leaves for the first message and for tool outputs.

Tokens are estimated at CHARS_PER_TOKEN characters per token, a deliberately low figure (code and
JSON tokenise denser than prose) so the estimate errs on the side of fitting. With an 8k local
model the fixed part (system prompt + tool declarations) already takes a large share, so the
first message (the event and its source) is cut to what is left after the reply's reserve, and
each tool output to a fraction of the window. Later turns drop the oldest tool outputs first when
the conversation outgrows the window.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 3
MIN_FIRST_MESSAGE_TOKENS = 512
TOOL_OUTPUT_SHARE = 6  # one tool output may take 1/6 of the window
ELIDED = "[output elided to fit the model's context window]"


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def request_tokens(system: str, tools: list[dict[str, Any]], messages: list[dict[str, Any]]) -> int:
    return estimate_tokens(system) + estimate_tokens(json.dumps(tools)) + estimate_tokens(json.dumps(messages))


async def context_window(provider: Any) -> int | None:
    """The provider's window: an async `context_window_tokens()` (asks the server), else a
    `context_window` attribute; None when the provider does not say (hosted Claude: 200k+)."""
    probe = getattr(provider, "context_window_tokens", None)
    if callable(probe):
        value = probe()
        return int(await value) if inspect.isawaitable(value) else int(value)
    window = getattr(provider, "context_window", None)
    return int(window) if isinstance(window, int) else None


def trim_middle(text: str, max_tokens: int, what: str) -> str:
    """`text` cut to about `max_tokens`, keeping its head and tail (the error is at the top of the
    first message, the crash line's source further down; a tool's summary is often last)."""
    limit = max(max_tokens, 1) * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    note = f"\n[... {what} trimmed to fit the model's context window ...]\n"
    keep = max(limit - len(note), 0)
    head = keep * 2 // 3
    return text[:head] + note + text[len(text) - (keep - head):]


@dataclass(frozen=True)
class Budget:
    window: int
    fixed: int  # system prompt + tool declarations
    reserve: int  # the reply's max output tokens

    @property
    def first_message(self) -> int:
        # Half of what the fixed part and the reply leave: the other half is for the investigation.
        return max((self.window - self.fixed - self.reserve) // 2, MIN_FIRST_MESSAGE_TOKENS)

    @property
    def tool_output(self) -> int:
        return max(self.window // TOOL_OUTPUT_SHARE, 256)

    def fit_conversation(self, system: str, tools: list[dict[str, Any]], messages: list[dict[str, Any]]) -> int:
        """Elide the oldest tool outputs until the request fits; returns how many were elided."""
        elided = 0
        for message in messages:
            if request_tokens(system, tools, messages) + self.reserve <= self.window:
                break
            if message.get("role") != "tool_results":
                continue
            for result in message["results"]:
                if result["content"] != ELIDED:
                    result["content"] = ELIDED
                    elided += 1
        return elided


def budget_for(window: int, system: str, tools: list[dict[str, Any]], max_output_tokens: int) -> Budget:
    # A small window cannot reserve 8k for the reply: a quarter of it is plenty for a tool call.
    reserve = min(max_output_tokens, window // 4)
    return Budget(window=window, fixed=estimate_tokens(system) + estimate_tokens(json.dumps(tools)), reserve=reserve)
