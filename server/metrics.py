"""Prometheus text-format metrics, kept in-process (no client library needed for three series).

Updated from the request loop and from the DBOS worker thread, hence the lock.
"""

from __future__ import annotations

import threading
from collections import Counter

_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._webhooks: Counter[str] = Counter()
        self._jobs: Counter[str] = Counter()
        self._ignored: Counter[str] = Counter()  # by the trigger rule's name (min-events, ignore, …)
        self._duration_counts = [0] * len(_DURATION_BUCKETS)
        self._duration_sum = 0.0
        self._duration_total = 0
        self._cost_usd = 0.0
        self._unpriced_turns = 0

    def webhook(self, outcome: str) -> None:
        with self._lock:
            self._webhooks[outcome] += 1

    def job_finished(self, state: str, seconds: float, cost_usd: float = 0.0, unpriced_turns: int = 0, *,
                     rule: str | None = None) -> None:
        with self._lock:
            self._jobs[state] += 1
            if rule:
                self._ignored[rule.split(":", 1)[0]] += 1
            self._cost_usd += cost_usd
            # Turns of a model with no known price: their cost is not in the total above.
            self._unpriced_turns += unpriced_turns
            self._duration_sum += seconds
            self._duration_total += 1
            for i, bound in enumerate(_DURATION_BUCKETS):
                if seconds <= bound:
                    self._duration_counts[i] += 1

    def render(self, queue_depth: dict[str, int] | None = None) -> str:
        with self._lock:
            lines = [
                "# HELP autofixer_webhooks_total Webhook deliveries by outcome.",
                "# TYPE autofixer_webhooks_total counter",
                *(f'autofixer_webhooks_total{{outcome="{k}"}} {v}' for k, v in sorted(self._webhooks.items())),
                "# HELP autofixer_jobs_total Fix jobs finished in this process, by final state.",
                "# TYPE autofixer_jobs_total counter",
                *(f'autofixer_jobs_total{{state="{k}"}} {v}' for k, v in sorted(self._jobs.items())),
                "# HELP autofixer_jobs_ignored_total Jobs a trigger rule stopped, by rule.",
                "# TYPE autofixer_jobs_ignored_total counter",
                *(f'autofixer_jobs_ignored_total{{rule="{k}"}} {v}' for k, v in sorted(self._ignored.items())),
                "# HELP autofixer_jobs Fix jobs waiting or running now, by state.",
                "# TYPE autofixer_jobs gauge",
                *(f'autofixer_jobs{{state="{k}"}} {v}' for k, v in sorted((queue_depth or {}).items())),
                "# HELP autofixer_job_duration_seconds Wall time of finished fix jobs.",
                "# TYPE autofixer_job_duration_seconds histogram",
                *(
                    f'autofixer_job_duration_seconds_bucket{{le="{b}"}} {c}'
                    for b, c in zip(_DURATION_BUCKETS, self._duration_counts, strict=True)
                ),
                f'autofixer_job_duration_seconds_bucket{{le="+Inf"}} {self._duration_total}',
                f"autofixer_job_duration_seconds_sum {self._duration_sum:.3f}",
                f"autofixer_job_duration_seconds_count {self._duration_total}",
                "# HELP autofixer_llm_cost_usd_total Model cost of finished fix jobs (known prices only).",
                "# TYPE autofixer_llm_cost_usd_total counter",
                f"autofixer_llm_cost_usd_total {self._cost_usd:.6f}",
                "# HELP autofixer_llm_unpriced_turns_total Model turns whose cost is unknown (no price for the model).",
                "# TYPE autofixer_llm_unpriced_turns_total counter",
                f"autofixer_llm_unpriced_turns_total {self._unpriced_turns}",
            ]
        return "\n".join(lines) + "\n"
