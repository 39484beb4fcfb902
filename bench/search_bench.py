"""Benchmark: search_repo (the tool, through its public run) versus ripgrep, with plain `git grep`
alongside, on Django's source tree.

Target (issue 16, item 7): the tool's median time is at most 1.0x ripgrep's (`rg -n`, which also
skips ignored, hidden and binary files) for every query, literal and regex, including one with
~100k matches (where the tool must stream and count rather than collect). Runs are interleaved
(rg, git grep, tool, rg, ...) so drift in machine load hits all three alike. Exits 1 on a miss.
ripgrep is the anchor: without it the bench stops (`apt-get install ripgrep`).

    .venv/bin/python bench/search_bench.py                 # downloads Django's sdist once into /tmp
    .venv/bin/python bench/search_bench.py --repo PATH     # any checkout (made a git repo if it isn't)
    .venv/bin/python bench/search_bench.py --runs 15
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
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.base import ToolContext
from tools.files import SearchRepoArgs, glob_pathspecs, search_repo

TARGET_RATIO = 1.0  # of ripgrep's time
DEFAULT_CACHE = Path("/tmp/autofixer-bench")


@dataclass(frozen=True)
class Query:
    label: str
    query: str
    regex: bool = False
    path_glob: str | None = None


QUERIES: tuple[Query, ...] = (
    Query("literal, common", "def get_queryset"),
    Query("literal, frequent", "ImproperlyConfigured"),
    Query("literal, huge output", "self"),
    Query("literal, no match", "zzz_no_such_token_zzz"),
    Query("regex, class", r"class \w+\(models\.Model\)", regex=True),
    Query("regex, def *_id(", r"def \w+_id\(", regex=True),
    Query("regex + path_glob", r"^import\s+re$", regex=True, path_glob="*.py"),
)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    cfg = ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *cfg, *args], cwd=cwd, check=True, capture_output=True)


def ensure_git_repo(path: Path) -> Path:
    if not (path / ".git").exists():
        print(f"making {path} a git repository (one commit of everything)...", flush=True)
        _git(path, "init", "-q")
        _git(path, "add", "-A")
        _git(path, "commit", "-q", "-m", "bench base")
    return path


def django_repo(cache: Path) -> Path:
    """Django's sdist, downloaded once and unpacked into a git repository under `cache`."""
    dl = cache / "dl"
    tarballs = sorted(dl.glob("[Dd]jango-*.tar.gz"))
    if not tarballs:
        print("downloading Django's sdist...", flush=True)
        dl.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "django", "-d", str(dl)],
            check=True,
        )
        tarballs = sorted(dl.glob("[Dd]jango-*.tar.gz"))
    tarball = tarballs[-1]
    dest = cache / "src" / tarball.name.removesuffix(".tar.gz")
    if not dest.exists():
        print(f"unpacking {tarball.name}...", flush=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tf:
            tf.extractall(dest.parent, filter="data")
    return ensure_git_repo(dest)


def git_grep_argv(q: Query) -> list[str]:
    mode = "-P" if q.regex else "-F"
    specs = glob_pathspecs(q.path_glob) if q.path_glob else []
    return ["git", "grep", "-n", "-I", "--no-color", mode, "-e", q.query, "--", *specs]


def rg_argv(q: Query) -> list[str]:
    mode = [] if q.regex else ["-F"]
    globs = ["-g", q.path_glob] if q.path_glob else []
    return ["rg", "-n", "--no-heading", "--color=never", *mode, *globs, "-e", q.query]


def time_command(repo: Path, argv: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=repo, capture_output=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()}")
    return elapsed, proc.stdout.count(b"\n")


async def time_tool(ctx: ToolContext, q: Query) -> tuple[float, str]:
    args = SearchRepoArgs(query=q.query, regex=q.regex, path_glob=q.path_glob)
    t0 = time.perf_counter()
    out = await search_repo.run(ctx, args)
    return time.perf_counter() - t0, out


@dataclass
class Row:
    q: Query
    matches: int
    rg_matches: int
    rg_ms: float
    git_ms: float
    tool_ms: float
    summary: str

    @property
    def ratio(self) -> float:
        return self.tool_ms / self.rg_ms if self.rg_ms else float("inf")


async def bench(repo: Path, runs: int) -> list[Row]:
    ctx = ToolContext(worktree=repo)
    rows: list[Row] = []
    for q in QUERIES:
        time_command(repo, rg_argv(q))  # warm the page cache and the PCRE probe
        time_command(repo, git_grep_argv(q))
        await time_tool(ctx, q)
        rg_times: list[float] = []
        git_times: list[float] = []
        tool_times: list[float] = []
        matches = rg_matches = 0
        summary = ""
        for _ in range(runs):  # interleaved, so drift in machine load hits all alike
            r, rg_matches = time_command(repo, rg_argv(q))
            g, matches = time_command(repo, git_grep_argv(q))
            t, out = await time_tool(ctx, q)
            rg_times.append(r)
            git_times.append(g)
            tool_times.append(t)
            summary = out.splitlines()[0]
        rows.append(Row(q, matches, rg_matches, statistics.median(rg_times) * 1e3, statistics.median(git_times) * 1e3,
                        statistics.median(tool_times) * 1e3, summary))
    return rows


def report(repo: Path, rows: list[Row], runs: int) -> bool:
    n_files = len(subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True).stdout.splitlines())
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    rg_version = subprocess.run(["rg", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nrepo: {repo} ({n_files:,} files), {git_version}, {rg_version}, cpus: {os.cpu_count()}, "
          f"median of {runs} runs, load average {load}")
    print(f"{'query':<26} {'matches':>9} {'rg':>9} {'rg ms':>8} {'git grep ms':>12} {'search_repo ms':>15} "
          f"{'vs rg':>7}  target <= {TARGET_RATIO}x rg")
    ok = True
    for r in rows:
        passed = r.ratio <= TARGET_RATIO
        ok &= passed
        verdict = "PASS" if passed else "MISS"
        print(f"{r.q.label:<26} {r.matches:>9,} {r.rg_matches:>9,} {r.rg_ms:>8.1f} {r.git_ms:>12.1f} "
              f"{r.tool_ms:>15.1f} {r.ratio:>6.2f}x  {verdict}")
    total_rg = sum(r.rg_ms for r in rows)
    total_git = sum(r.git_ms for r in rows)
    total_tool = sum(r.tool_ms for r in rows)
    print(f"{'total':<26} {'':>9} {'':>9} {total_rg:>8.1f} {total_git:>12.1f} {total_tool:>15.1f} "
          f"{total_tool / total_rg:>6.2f}x")
    print("\ntool output headers:")
    for r in rows:
        print(f"  {r.q.label:<24} {r.summary}")
    print(f"\nresult: {'PASS' if ok else 'MISS'} (every query within {TARGET_RATIO}x of ripgrep)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, help="search this checkout instead of Django's sdist")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where Django is downloaded and unpacked")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per query (median reported)")
    opts = parser.parse_args()
    if shutil.which("rg") is None:
        raise SystemExit("ripgrep (rg), the anchor, is not installed: apt-get install ripgrep")
    repo = ensure_git_repo(opts.repo.resolve()) if opts.repo else django_repo(opts.cache)
    rows = asyncio.run(bench(repo, opts.runs))
    return 0 if report(repo, rows, opts.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
