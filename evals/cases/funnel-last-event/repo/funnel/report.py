"""The plain-text report mailed to the growth team."""

from __future__ import annotations

from funnel.events import KINDS
from funnel.funnel import FunnelStats


def render(day: str, stats: FunnelStats) -> str:
    lines = [f"Checkout funnel {day}", ""]
    for kind in KINDS:
        lines.append(f"  {kind:<9}{stats.reached[kind]:>6} users")
    lines += [
        "",
        f"  conversion   {stats.conversion:.1%}",
        f"  checkouts    {stats.checkouts}, abandoned {stats.abandoned}",
    ]
    return "\n".join(lines)
