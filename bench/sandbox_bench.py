"""The sandbox's cost: start overhead per command, and a second job's environment reuse.

Usage:
    .venv/bin/python bench/sandbox_bench.py [--runs N]

* start overhead: `true` and `python -c pass` run N times each as a bare subprocess and through
  the bubblewrap sandbox with its limits (execution.sandbox: namespaces, mounts, cgroups), in
  pairs (bare, sandboxed) so machine noise hits both alike; the figure is the median sandboxed
  time minus the median bare time. Target < 50 ms.
* environment reuse: a Python project with a setup command gets its environment built (the
  first job; printed, no target: it is venv creation plus setup), then prepared again as a
  second job of the same repository would. Target < 1 s.

Exits non-zero when a figure misses its target. The machine may be shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from execution.config import TestsConfig
from execution.engine import TestEngine
from execution.limits import LimitSpec
from execution.sandbox import Sandbox, SandboxJob

OVERHEAD_TARGET_S = 0.050
REUSE_TARGET_S = 1.0
SPEC = LimitSpec(seconds=60, memory_mb=1024, max_processes=64, max_output_bytes=1024 * 1024)


async def paired_overhead(sandbox: Sandbox, worktree: Path, command: str, runs: int) -> tuple[float, float]:
    """(median bare seconds, median sandboxed seconds) of `command`."""
    bare: list[float] = []
    boxed: list[float] = []
    python = Path(sys.base_prefix)
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", command], cwd=worktree, check=True, capture_output=True)
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = await sandbox.run(SandboxJob(command, worktree, SPEC, prefixes=(python,)))
        boxed.append(time.perf_counter() - started)
        if result.exit_code != 0:
            raise SystemExit(f"sandboxed {command!r} failed: {result.output[-500:]}")
    return statistics.median(bare), statistics.median(boxed)


async def reuse(root: Path) -> tuple[float, float]:
    """(first build seconds, second prepare seconds) of one project's environment."""
    repo = root / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "__init__.py").write_text("")
    (repo / "requirements.txt").write_text("# nothing pinned\n")
    tests = TestsConfig(setup=["python -c \"import site; print(site.getsitepackages())\""])
    engine = TestEngine(root / "state")
    started = time.perf_counter()
    await engine.prepare("bench/app", repo, tests)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = await engine.prepare("bench/app", repo, tests)
    second = time.perf_counter() - started
    assert again.reused
    return first, second


async def main(runs: int) -> int:
    sandbox = Sandbox("bwrap")
    if (reason := sandbox.unavailable) is not None:
        print(f"sandbox_bench: {reason}", file=sys.stderr)
        return 2
    python = f"{Path(sys.base_prefix) / 'bin' / 'python3'} -c pass"
    with tempfile.TemporaryDirectory(prefix="autofixer-sandbox-bench-") as tmp:
        worktree = Path(tmp) / "worktree"
        worktree.mkdir()
        rows: list[tuple[str, float, float]] = []
        for label, command in (("true", "true"), ("python -c pass", python)):
            bare, boxed = await paired_overhead(sandbox, worktree, command, runs)
            print(f"{label:<16} bare {bare * 1000:7.1f} ms   sandboxed {boxed * 1000:7.1f} ms")
            rows.append((f"start overhead ({label})", boxed - bare, OVERHEAD_TARGET_S))
        first, second = await reuse(Path(tmp))
    print(f"first build of the environment: {first:.2f} s (venv + setup; no target)")
    rows.append(("second prepare (reused)", second, REUSE_TARGET_S))
    print(f"\n{'figure':<34} {'value ms':>9} {'target ms':>10}  verdict   ({sandbox.description}, {runs} pairs)")
    ok = True
    for name, value, target in rows:
        ok &= value < target
        print(f"{name:<34} {value * 1000:>9.1f} {target * 1000:>10.0f}  {'PASS' if value < target else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="paired runs per command (default 21)")
    sys.exit(asyncio.run(main(parser.parse_args().runs)))
