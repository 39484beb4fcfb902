"""What a model turn costs, from one table of per-million-token prices.

Cost is what `Limits.max_cost_usd` is enforced against, so an unknown model must never be
priced at zero: it is priced at a conservative fallback (the most expensive tier Anthropic has
published) and flagged, so the budget still stops a run early rather than late.

Prices are list prices in USD per million tokens, standard (not batch, not priority) tier,
prompts under the long-context threshold. Prompt-cache writes with the default 5-minute TTL
cost 1.25x the input price and cache reads 0.1x.

Published ladder for the 4.x line: Opus 4.5 and later $5 / $25, Sonnet $3 / $15, Haiku 4.5
$1 / $5. The 5.x models are assumed to keep the same tiers (Opus / Sonnet / Haiku) until
their prices are published; update the table when they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from domain import Usage

DEFAULT_MODEL = "claude-sonnet-5-5"

CACHE_WRITE_MULTIPLIER = 1.25  # 5-minute TTL
CACHE_READ_MULTIPLIER = 0.10


@dataclass(frozen=True)
class ModelPrice:
    input: float  # USD per million input tokens
    output: float  # USD per million output tokens
    known: bool = True  # False: the conservative fallback was used

    @property
    def cache_write(self) -> float:
        return self.input * CACHE_WRITE_MULTIPLIER

    @property
    def cache_read(self) -> float:
        return self.input * CACHE_READ_MULTIPLIER


_OPUS = ModelPrice(5.0, 25.0)
_SONNET = ModelPrice(3.0, 15.0)
_HAIKU = ModelPrice(1.0, 5.0)

PRICES: dict[str, ModelPrice] = {
    # 5.x line: tiers assumed equal to 4.x (see the module docstring).
    "claude-opus-5-5": _OPUS,
    "claude-sonnet-5-5": _SONNET,
    "claude-haiku-5-5": _HAIKU,
    "claude-opus-5": _OPUS,
    "claude-sonnet-5": _SONNET,
    # 4.x line: published prices.
    "claude-opus-4-8": _OPUS,
    "claude-opus-4-7": _OPUS,
    "claude-opus-4-6": _OPUS,
    "claude-opus-4-5": _OPUS,
    "claude-opus-4-5-20251101": _OPUS,
    "claude-sonnet-4-6": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-sonnet-4-5-20250929": _SONNET,
    "claude-haiku-4-5": _HAIKU,
    "claude-haiku-4-5-20251001": _HAIKU,
}

# Opus 4 / 4.1 list price, the highest Anthropic has published for a Claude model: used for any
# model not in the table so a typo or a new model cannot slip past the cost limit.
FALLBACK_PRICE = ModelPrice(15.0, 75.0, known=False)

_DATE_SUFFIX = re.compile(r"[-@]\d{8}$")
_BEDROCK_AFFIXES = re.compile(r"^(?:[a-z]{2}\.)?anthropic\.|-v\d+(?::\d+)?$")


def price_for(model: str) -> ModelPrice:
    """The model's price; dated ids and Bedrock/Vertex spellings fall back to the base id."""
    if model in PRICES:
        return PRICES[model]
    base = _DATE_SUFFIX.sub("", _BEDROCK_AFFIXES.sub("", model))
    return PRICES.get(base, FALLBACK_PRICE)


def cost_usd(
    model: str,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> tuple[float, bool]:
    """(cost in USD, whether the model's price is known). `input_tokens` excludes cache tokens,
    as the Messages API reports it."""
    p = price_for(model)
    total = (
        input_tokens * p.input
        + output_tokens * p.output
        + cache_read_tokens * p.cache_read
        + cache_write_tokens * p.cache_write
    ) / 1_000_000
    return total, p.known


def priced(model: str, usage: Usage) -> tuple[Usage, bool]:
    """`usage` with `cost_usd` filled in from its token counts, and whether the price is known."""
    cost, known = cost_usd(
        model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    return usage.model_copy(update={"cost_usd": cost}), known


class Pricing(Protocol):
    """What a provider's turns cost. Each provider owns one (its vendor's price list, or none)."""

    def price(self, model: str, usage: Usage) -> tuple[Usage, bool]:
        """`usage` with `cost_usd` filled in, and whether the model's price is known."""
        ...


class AnthropicPricing:
    """Anthropic's list prices (the table above), also for Claude on Bedrock and Vertex."""

    def price(self, model: str, usage: Usage) -> tuple[Usage, bool]:
        return priced(model, usage)


class FreePricing:
    """A model that runs on your own hardware: every token costs 0, and that price is known."""

    def price(self, model: str, usage: Usage) -> tuple[Usage, bool]:
        return usage.model_copy(update={"cost_usd": 0.0}), True


class RecordedPricing:
    """Replayed turns keep the cost they were recorded with: nothing is paid again."""

    def price(self, model: str, usage: Usage) -> tuple[Usage, bool]:
        return usage, True
