"""Customer notification preferences (the preferences service; in-memory for this worker's tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

DEFAULT_PREFERENCES: Mapping[str, Any] = {"channels": ["email"], "language": "en"}


class PreferenceStore:
    def __init__(self, data: Mapping[str, Mapping[str, Any]] | None = None, latency: float = 0.0) -> None:
        self._data = dict(data or {})
        self._latency = latency

    async def get_preferences(self, customer_id: str) -> Mapping[str, Any]:
        """The customer's preferences; defaults for customers who never changed them."""
        await asyncio.sleep(self._latency)  # a network round trip in production
        return self._data.get(customer_id, DEFAULT_PREFERENCES)
