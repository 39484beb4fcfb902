"""Job start on a warm mirror vs a fresh clone, on a large real codebase, as jobs really arrive:
one after another and in bursts, never waiting for background work between them.

Usage:
    .venv/bin/python bench/workspace_bench.py                 # Django's sdist made into a git repo
    .venv/bin/python bench/workspace_bench.py --repo PATH     # any existing repository

The Django sdist (~7,000 files) is fetched once with `pip download` into the cache directory
and committed into a local repository. Each design (a full `git worktree add` per job, and the
pool of spare worktrees the service keeps, one per worker) runs the same schedule:

* a burst: as many jobs as workers, queued at once after an idle spell (the pool is full);
* back to back: 3 bursts' worth of jobs through the workers, each job starting the moment a
  worker frees and holding its worktree for --job-seconds (default 3 s, about one model turn;
  a real fix takes minutes), so the spares are rebuilt while jobs run, or not;
* the same with jobs of no length at all (the worst case, reported, not a target: nothing has
  time to refill), and with a new upstream commit before each job (each start fetches and
  moves files).

A job's start is `Workspaces.checkout` from the call to a ready worktree (fetch, then a claimed
spare or a full checkout); its end is leaving the block (the worktree renamed away; deleting the
files runs in the background). The anchor is `git clone --no-local` of the same repository into
a new directory (what a clone-per-job design pays, minus any network time, so it flatters the
clone), measured between the designs' runs.

Targets (issue 16, item 6): the pool's median start < 1 s and at least 10x faster than a fresh
clone, for the burst and the back-to-back schedules. Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.workspace import Workspaces

WARM_TARGET_S = 1.0
SPEEDUP_TARGET = 10.0
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "autofixer-workspace-bench"
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def sh(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


# ---- the codebase ------------------------------------------------------------------------------------


def django_repo(cache: Path) -> Path:
    """Django's sdist as a one-commit git repository, built once and reused."""
    repo = cache / "django-repo"
    if (repo / ".git").exists():
        return repo
    tarball = _django_sdist(cache)
    staging = cache / "django-extract"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(staging, filter="data")
    (top,) = list(staging.iterdir())
    shutil.rmtree(repo, ignore_errors=True)
    top.rename(repo)
    shutil.rmtree(staging, ignore_errors=True)
    sh("git", "init", "-q", "-b", "main", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    # gc.auto=0: no detached background gc racing the explicit repack below.
    sh("git", *GIT_ID, "-c", "gc.auto=0", "commit", "-q", "-m", f"import {tarball.name}", cwd=repo)
    sh("git", "repack", "-adq", cwd=repo)  # packed, as a real remote's repository would be
    return repo


def _django_sdist(cache: Path) -> Path:
    found = sorted(cache.glob("[Dd]jango-*.tar.gz"))
    if found:
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading Django's sdist into {cache} ...", flush=True)
    sh(sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet", "django",
       "-d", str(cache))
    return sorted(cache.glob("[Dd]jango-*.tar.gz"))[-1]


def default_branch(repo: Path) -> str:
    return sh("git", "symbolic-ref", "--short", "HEAD", cwd=repo)


def describe(repo: Path) -> str:
    files = len(sh("git", "ls-files", "-z", cwd=repo).split("\0"))
    commits = sh("git", "rev-list", "--count", "HEAD", cwd=repo)
    size = sh("git", "count-objects", "-vH", cwd=repo)
    pack = next((ln.split(":", 1)[1].strip() for ln in size.splitlines() if ln.startswith("size-pack")), "?")
    return f"{repo} ({files:,} files, {commits} commit(s), pack {pack})"


# ---- measurements -----------------------------------------------------------------------------------------


WORKERS = 2  # the service's default worker.concurrency


def timed_sync(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fresh_clone(repo: Path, scratch: Path, n: int) -> float:
    target = scratch / f"clone-{n}"
    # --no-local: transfer a pack as over a network instead of hard-linking the object files.
    elapsed = timed_sync(lambda: sh("git", "clone", "-q", "--no-local", str(repo), str(target)))
    shutil.rmtree(target)
    return elapsed


def push_commit(repo: Path, n: int) -> None:
    path = repo / "BENCH_NOTE.txt"
    path.write_text(f"bench commit {n} at {time.time_ns()}\n")  # never the content of an earlier run
    sh("git", "add", "BENCH_NOTE.txt", cwd=repo)
    sh("git", *GIT_ID, "-c", "gc.auto=0", "commit", "-q", "-m", f"bench {n}", cwd=repo)


def fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.3f} s (min {min(xs):.3f}, max {max(xs):.3f}, n={len(xs)})"


@dataclass
class Timings:
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    prewarmed: int = 0


async def jobs(wss: Workspaces, url: str, branch: str, tag: str, count: int, timings: Timings,
               before: Callable[[], Awaitable[None]] | None = None, hold: float = 0.0) -> None:
    """`count` jobs through WORKERS workers, queued at once: each starts as a worker frees and
    holds its worktree for `hold` seconds (the agent's turns)."""
    workers = asyncio.Semaphore(WORKERS)

    async def job(n: int) -> None:
        async with workers:
            if before:
                await before()
            started = time.perf_counter()
            async with wss.checkout(url, branch, f"{tag}-{n}") as ws:
                timings.starts.append(time.perf_counter() - started)
                timings.prewarmed += ws.prewarmed
                assert any(ws.path.iterdir())
                await asyncio.sleep(hold)
                leaving = time.perf_counter()
            timings.ends.append(time.perf_counter() - leaving)

    await asyncio.gather(*(job(n) for n in range(count)))


async def run(repo: Path, runs: int, scratch: Path, mutate_source: bool, hold: float) -> int:
    branch = default_branch(repo)
    url = str(repo)
    print(f"repository: {describe(repo)}; {WORKERS} workers; load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    counter = iter(range(10_000))

    committing = asyncio.Lock()  # two workers' jobs would otherwise race for the repository's index

    async def upstream_commit() -> None:
        async with committing:
            await asyncio.to_thread(push_commit, repo, next(counter))

    clones: list[float] = []
    results: dict[str, Timings] = {}
    for spares in (0, WORKERS):
        design = f"pool of {spares} spares" if spares else "plain worktree add"
        wss = Workspaces(scratch / f"state-{spares}", prewarm=spares > 0, spares=spares)
        first = Timings()
        await jobs(wss, url, branch, "first", 1, first)
        print(f"\n[{design}]\nfirst job (mirror clone + checkout):     {first.starts[0]:.3f} s")
        busy = f"jobs of {hold:g} s"
        schedules: list[tuple[str, int, Callable[[], Awaitable[None]] | None, float]] = [
            ("burst after idle", WORKERS, None, 0.0),
            (f"back to back, {busy}", 3 * WORKERS, None, hold),
            ("back to back, jobs of 0 s (worst case)", 3 * WORKERS, None, 0.0)]
        if mutate_source:
            schedules.append((f"back to back, {busy}, upstream moved", 3 * WORKERS, upstream_commit, hold))
        for label, count, before, job_s in schedules:
            timings = results.setdefault(f"{design}: {label}", Timings())
            for i in range(runs):
                if label == "burst after idle":
                    await wss.aclose()  # the idle spell: background work done, the pool full
                await jobs(wss, url, branch, f"{label}-{i}", count, timings, before, job_s)
            print(f"{label + ' start:':<52}{fmt(timings.starts)}; {timings.prewarmed} of "
                  f"{len(timings.starts)} from a spare")
            print(f"{label + ' end:':<52}{fmt(timings.ends)}")
            clones.append(await asyncio.to_thread(fresh_clone, repo, scratch, len(clones)))  # interleaved
        await wss.aclose()

    clone_med = statistics.median(clones)
    print(f"\nfresh git clone --no-local (no network), the anchor: {fmt(clones)}")
    print()
    print(f"{'job start (median)':<52}{'measured':>10}{'speed-up':>10}   targets: < {WARM_TARGET_S:g} s, "
          f">= {SPEEDUP_TARGET:g}x the clone")
    ok = True
    for label, timings in results.items():
        med = statistics.median(timings.starts)
        passed = med < WARM_TARGET_S and clone_med / med >= SPEEDUP_TARGET
        verdict = "PASS" if passed else "MISS"
        if not label.startswith("pool"):
            verdict = "(compare)"  # the service's design is the pool; the plain one is shown beside it
        elif "worst case" in label:
            verdict = f"(worst case: {verdict})"  # jobs of no length leave the pool no time to refill
        else:
            ok &= passed
        print(f"{label:<52}{med:>9.3f}s{clone_med / med:>9.1f}x   {verdict}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, help="an existing git repository (default: Django's sdist)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help=f"download/repo cache (default {DEFAULT_CACHE})")
    parser.add_argument("--runs", type=int, default=3, help="repeats of each schedule (default 3)")
    parser.add_argument("--job-seconds", type=float, default=3.0,
                        help="how long a back-to-back job holds its worktree (default 3: one model turn)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch state directory")
    args = parser.parse_args(argv)

    if args.repo:
        repo, mutate = args.repo.resolve(), False  # never commit into someone's repository
    else:
        repo, mutate = django_repo(args.cache_dir), True
    scratch = Path(tempfile.mkdtemp(prefix="workspace-bench-", dir=args.cache_dir if args.cache_dir.exists() else None))
    try:
        return asyncio.run(run(repo, args.runs, scratch, mutate, args.job_seconds))
    finally:
        if args.keep:
            print(f"state kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
