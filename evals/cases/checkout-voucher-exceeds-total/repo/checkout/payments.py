"""The payment gateway client (HTTP in production; recording here)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal


class PaymentError(ValueError):
    pass


@dataclass
class Gateway:
    charges: list[tuple[str, Decimal]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def charge(self, card_token: str, amount: Decimal) -> str:
        """Charge `amount` EUR; the gateway refuses zero and negative amounts."""
        if amount <= 0:
            raise PaymentError(f"charge amount must be positive, got {amount}")
        if not card_token.startswith("tok_"):
            raise PaymentError("invalid card token")
        self.charges.append((card_token, amount))
        return f"ch_{next(self._ids):06d}"
