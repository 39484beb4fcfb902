"""Start-up latency: `autofixer --help` and `serve` with a bad config, as a user runs them.

Prints the median of N runs next to its target (issue 10: --help < 0.5 s, a bad config
answered < 1 s). Each run is a fresh interpreter, so imports are what is measured.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7


def _median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    cli = [sys.executable, "-m", "server.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.yml"
        bad.write_text("behavior:\n  min-confidence: SUPER\n")
        rows = [
            ("autofixer --help", _median_seconds([*cli, "--help"]), 0.5),
            ("autofixer serve (bad config)", _median_seconds([*cli, "--config", str(bad), "serve"]), 1.0),
        ]
    print(f"{'command':<32} {'median s':>9} {'target s':>9}  verdict   ({RUNS} runs each)")
    ok = True
    for name, seconds, target in rows:
        ok &= seconds < target
        print(f"{name:<32} {seconds:>9.3f} {target:>9.1f}  {'PASS' if seconds < target else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
