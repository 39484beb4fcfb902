"""OpenAI's list prices (also Azure OpenAI's, which bills the same models at the same list price),
and the pricing of models no table knows.

USD per million tokens, standard tier, as published on OpenAI's pricing page. Cached input is
priced per model (OpenAI's discount differs by generation: 50% for GPT-4o, 75% for GPT-4.1 and
o-series, 90% for GPT-5). Output tokens include reasoning tokens, as the API bills them.

A model missing from the table is never charged a made-up price: its turns cost the price the
operator configured (llm.input-price-per-mtok / output-price-per-mtok) or, without one, 0 and
"unknown" (the turn is flagged; the PR body and reports say "cost unknown"; the loop warns that
max-cost-usd cannot be enforced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain import Usage


@dataclass(frozen=True)
class TokenPrice:
    input: float
    output: float
    cached_input: float | None = None  # None: cache reads cost the input price

    def cost(self, usage: Usage) -> float:
        cached = self.input if self.cached_input is None else self.cached_input
        return (
            usage.input_tokens * self.input
            + usage.cache_write_tokens * self.input
            + usage.cache_read_tokens * cached
            + usage.output_tokens * self.output
        ) / 1_000_000


OPENAI_PRICES: dict[str, TokenPrice] = {
    "gpt-5.1": TokenPrice(1.25, 10.0, 0.125),
    "gpt-5": TokenPrice(1.25, 10.0, 0.125),
    "gpt-5-mini": TokenPrice(0.25, 2.0, 0.025),
    "gpt-5-nano": TokenPrice(0.05, 0.40, 0.005),
    "gpt-4.1": TokenPrice(2.0, 8.0, 0.50),
    "gpt-4.1-mini": TokenPrice(0.40, 1.60, 0.10),
    "gpt-4.1-nano": TokenPrice(0.10, 0.40, 0.025),
    "gpt-4o": TokenPrice(2.50, 10.0, 1.25),
    "gpt-4o-mini": TokenPrice(0.15, 0.60, 0.075),
    "o3": TokenPrice(2.0, 8.0, 0.50),
    "o4-mini": TokenPrice(1.10, 4.40, 0.275),
    "o3-mini": TokenPrice(1.10, 4.40, 0.55),
    "o1": TokenPrice(15.0, 60.0, 7.50),
}

_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")
# Gateways prefix the vendor ("openai/gpt-4o" on OpenRouter and LiteLLM).
_VENDOR_PREFIX = re.compile(r"^openai/")


def configured_price(input_per_mtok: float | None, output_per_mtok: float | None) -> TokenPrice | None:
    if input_per_mtok is None and output_per_mtok is None:
        return None
    return TokenPrice(input_per_mtok or 0.0, output_per_mtok or 0.0)


class TablePricing:
    """A price table; a model missing from it costs the configured price, else 0 and unknown."""

    def __init__(self, table: dict[str, TokenPrice], configured: TokenPrice | None = None) -> None:
        self.table = table
        self.configured = configured

    def lookup(self, model: str) -> TokenPrice | None:
        base = _DATED.sub("", _VENDOR_PREFIX.sub("", model))
        return self.table.get(model) or self.table.get(base)

    def price(self, model: str, usage: Usage) -> tuple[Usage, bool]:
        price = self.lookup(model) or self.configured
        if price is None:
            return usage.model_copy(update={"cost_usd": 0.0}), False
        return usage.model_copy(update={"cost_usd": price.cost(usage)}), True


class OpenAIPricing(TablePricing):
    def __init__(self, configured: TokenPrice | None = None) -> None:
        super().__init__(OPENAI_PRICES, configured)


class LocalPricing(TablePricing):
    """A model on your own hardware costs 0 and that is known, unless a price is configured
    (e.g. a hosted OpenAI-compatible gateway that bills per token)."""

    def __init__(self, configured: TokenPrice | None = None) -> None:
        super().__init__({}, configured)

    def price(self, model: str, usage: Usage) -> tuple[Usage, bool]:
        if self.configured is None:
            return usage.model_copy(update={"cost_usd": 0.0}), True
        return super().price(model, usage)
