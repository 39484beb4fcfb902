"""Live progress on stderr: a redrawn bar on a terminal, plain lines anywhere else.

Plain lines when stderr is not a TTY because CI logs and pipes keep every carriage-return
redraw as noise; there, one line per finished case is the useful record.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from evals.scoring import CaseResult

BAR_WIDTH = 24
REDRAW_INTERVAL_S = 0.1


def outcome_word(result: CaseResult) -> str:
    if not result.scored:
        return result.status.replace("_", " ").upper()
    return "resolved" if result.resolved else "FAILED"


def result_line(result: CaseResult) -> str:
    conf = result.confidence.value if result.confidence else "-"
    return (f"{result.case_id} #{result.repeat}: {outcome_word(result)}  conf {conf}  "
            f"{result.usage.steps} steps  {result.usage.tool_calls} tools  ${result.usage.cost_usd:.4f}  "
            f"{result.wall_seconds:.1f}s")


class ProgressDisplay:
    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = 0
        self.resolved = 0
        self.failed = 0
        self.unscored = 0
        self.running: dict[str, str] = {}  # "case #repeat" → what it is doing
        self._last_draw = 0.0

    def started(self, key: str) -> None:
        self.running[key] = "starting"
        self._draw()

    def update(self, key: str, what: str, *, throttle: bool = False) -> None:
        """Say what a run is doing; per-step updates are throttled, stage changes are not."""
        if key in self.running:
            self.running[key] = what
            self._draw(throttle=throttle)

    def finished(self, key: str, result: CaseResult) -> None:
        self.running.pop(key, None)
        self.done += 1
        if not result.scored:
            self.unscored += 1
        elif result.resolved:
            self.resolved += 1
        else:
            self.failed += 1
        if self.tty:
            self._clear()
        self.stream.write(f"[{self.done}/{self.total}] {result_line(result)}\n")
        if result.detail and not result.scored:
            self.stream.write(f"    {result.detail.splitlines()[0]}\n")
        self._draw()

    def close(self) -> None:
        if self.tty:
            self._clear()
        self.stream.flush()

    def _clear(self) -> None:
        self.stream.write("\r\x1b[K")

    def _draw(self, throttle: bool = False) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if throttle and now - self._last_draw < REDRAW_INTERVAL_S:
            return
        self._last_draw = now
        filled = int(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        running = ", ".join(f"{k} {v}" for k, v in list(self.running.items())[:3])
        more = f" +{len(self.running) - 3}" if len(self.running) > 3 else ""
        line = (f"{bar} {self.done}/{self.total}  ✓{self.resolved} ✗{self.failed}"
                f"{f' ?{self.unscored}' if self.unscored else ''}  {running}{more}")
        self._clear()
        self.stream.write(line[:200])
        self.stream.flush()
