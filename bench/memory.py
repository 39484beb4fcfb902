"""Memory of the service at rest and over cycles of load and rest (issue 16, item 4).

Starts `autofixer serve` (SQLite job store in a temp dir), reads its resident set size (VmRSS,
with its child process's) once it is idle, then runs cycles of webhook load at concurrency 16
followed by rest, and reads the RSS at the end of each rest and its peak during each cycle. The
jobs run for real against a Sentry that never answers, as in bench/webhook.py. Targets: idle
below 120 MiB; after each rest within ±5 MiB of the first rest (flat: what a cycle of load
leaves behind does not pile up).

    .venv/bin/python bench/memory.py                 # 3 cycles of 60 s load + 60 s rest (about 7 minutes)
    .venv/bin/python bench/memory.py --quick         # 3 cycles of 5 s + 5 s: checks work, figures are rough
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook import ROOT, SECRET, Load, free_port, silent_sentry, stop, wait_healthy

TARGET_IDLE_MIB = 120.0
TARGET_FLAT_MIB = 5.0


def rss_mib(pid: int) -> float:
    """The process's VmRSS plus its children's (the SQLite writer process): pages both map are
    counted twice, which overstates, never flatters."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
            break
    else:
        raise RuntimeError(f"no VmRSS for process {pid}")
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError, RuntimeError):  # it exited meanwhile
                total += rss_mib(int(child))
    return total


class PeakSampler:
    """The highest RSS seen, sampled every 0.2 s in a thread while the load runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mib(self.pid))

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--load", type=float, default=60.0, help="seconds of load per cycle (default 60)")
    parser.add_argument("--rest", type=float, default=60.0, help="seconds of rest per cycle (default 60)")
    parser.add_argument("--quick", action="store_true", help="3 cycles of 5 s load + 5 s rest")
    args = parser.parse_args(argv)
    if args.quick:
        args.load = args.rest = 5.0

    tmp = Path(tempfile.mkdtemp(prefix="autofixer-memory-"))
    config = tmp / "autofixer.yml"
    config.write_text(
        f"source: {{base-url: '{silent_sentry()}', org: bench}}\n"
        "worker: {concurrency: 2, sentry-max-attempts: 1}\n"
        f"state-dir: '{tmp / 'state'}'\n"
    )
    env = {**os.environ, "AUTOFIXER_WEBHOOK_SECRET": SECRET, "AUTOFIXER_SENTRY_TOKEN": "bench-token-not-real"}
    port = free_port()
    service = subprocess.Popen([sys.executable, "-m", "server.cli", "--config", str(config), "serve",
                                "--port", str(port), "--log-level", "WARNING"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=(tmp / "service.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    rows: list[tuple[int, int, float, float]] = []
    try:
        wait_healthy(url, service)
        time.sleep(min(10.0, args.rest))  # start-up work (recovery, first polls) settles
        idle = rss_mib(service.pid)
        load = Load(url, 1)
        for cycle in range(1, args.cycles + 1):
            with PeakSampler(service.pid) as sampler:
                run = asyncio.run(load.run(16, args.load))
                time.sleep(args.rest)
            rows.append((cycle, run.statuses.get(202, 0), sampler.peak, rss_mib(service.pid)))
            print(f"cycle {cycle}: {rows[-1][1]} accepted, peak {sampler.peak:.0f} MiB, "
                  f"after rest {rows[-1][3]:.0f} MiB", file=sys.stderr)
    finally:
        stop(service)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nservice memory (VmRSS), {args.cycles} cycles of {args.load:g} s load at concurrency 16 + "
          f"{args.rest:g} s rest; load average {os.getloadavg()[0]:.2f}\n")
    print(f"{'cycle':>5} {'accepted':>9} {'peak MiB':>9} {'after rest MiB':>15}")
    for cycle, accepted, peak, after in rows:
        print(f"{cycle:>5} {accepted:>9} {peak:>9.0f} {after:>15.1f}")
    base = rows[0][3]
    drift = max(abs(after - base) for *_, after in rows)
    ok_idle, ok_flat = idle < TARGET_IDLE_MIB, drift <= TARGET_FLAT_MIB
    print()
    print(f"{'idle RSS':<40} {idle:>8.1f} MiB   target < {TARGET_IDLE_MIB:g} MiB    {'OK' if ok_idle else 'MISSED'}")
    print(f"{'after each rest, vs the first':<40} {drift:>8.1f} MiB   target ±{TARGET_FLAT_MIB:g} MiB      "
          f"{'OK' if ok_flat else 'MISSED'}")
    return 0 if ok_idle and ok_flat else 1


if __name__ == "__main__":
    sys.exit(main())
