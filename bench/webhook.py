"""Webhook intake benchmark: the real service against the bare web stack, measured side by side.

Starts `autofixer serve` (SQLite job store in a temp dir, or `--database-url`) and, as the
ceiling, a bare Quart endpoint on the same server stack (hypercorn) that answers 202 without
verifying or storing anything. Then, in one invocation:

1. Paired runs: for each round and concurrency level, the ceiling and the service are loaded one
   after the other (the order alternates between rounds), each only once the service is quiet:
   every delivery accepted so far has reached the job queue (nothing left to hand off). The
   figures are medians over the rounds; the ratios are medians of the per-round ratios.
2. Sustained load at concurrency 16: how many jobs reach the job queue per second against how
   many deliveries are accepted per second, and how long the backlog takes to drain afterwards.
3. Verification against the job store itself (not the HTTP answers): every delivery answered
   202 has exactly one job in the queue; any delivery lost, any non-2xx answer fails the run.

Exit status: 0 when every target is met, 1 when a performance target is missed, 2 when a
correctness check fails. Sends signed `issue.created` deliveries, each for a new issue. The
service's workers run the queued jobs for real meanwhile, against a Sentry that never answers
(`--jobs failing`: one that refuses connections, so each job fails at once and the two workers
pull jobs in a CPU-bound loop; that costs the intake about a third of its throughput).

    .venv/bin/python bench/webhook.py                 # the full run (about 4 minutes)
    .venv/bin/python bench/webhook.py --quick         # a short smoke run: same checks, noisy figures
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sources.sentry.webhook import sign  # noqa: E402

SECRET = "bench-secret-not-real"
ORG = "bench"
# Issue 16: at concurrency 16, p99 within 1.5x and throughput at least 0.8x the bare ceiling's;
# the hand-off to the job queue keeps up with intake and its backlog drains within 5 s.
TARGET_P99_VS_CEILING = 1.5
TARGET_RATE_VS_CEILING = 0.8
TARGET_HANDOFF_VS_ACCEPT = 1.0
TARGET_DRAIN_SECONDS = 5.0
QUIET_TIMEOUT_SECONDS = 60.0

BARE_APP = """
import sys
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, request
import asyncio
app = Quart("bare")
@app.post("/api/webhook/sentry")
async def hook():
    await request.get_data()
    return {"status": "accepted"}, 202
@app.get("/health")
async def health():
    return {"status": "ok"}
c = Config(); c.bind = [f"127.0.0.1:{sys.argv[1]}"]; c.accesslog = None
asyncio.run(serve(app, c))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def silent_sentry() -> str:
    """A Sentry that accepts connections and never answers: the workers' jobs wait on it the way
    real jobs wait on the tracker, the forge and the model, instead of failing in a millisecond
    and pulling the next job in a CPU-bound loop the real service never runs."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold() -> None:
        while True:
            held.append(listener.accept()[0])

    threading.Thread(target=hold, daemon=True, name="silent-sentry").start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if the server has not stopped within 20 s."""
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become healthy")


def delivery(issue_id: int) -> bytes:
    return json.dumps({
        "action": "created",
        "data": {"issue": {"id": str(issue_id), "title": "ReferenceError: x is not defined",
                           "project": {"id": "1", "slug": "bench", "name": "bench"}}},
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
    }).encode()


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def accepted_per_s(self) -> float:
        return self.statuses.get(202, 0) / self.seconds

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.latencies)

    @property
    def p99_ms(self) -> float:
        return 1000 * self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * 0.99))]


@dataclass
class Load:
    """Signed deliveries over keep-alive HTTP/1.1 connections, one per concurrent sender.

    A hand-rolled client on asyncio streams rather than httpx: on two cores the load generator
    shares the CPU with the server, and a heavy client would measure itself instead.
    """

    url: str
    next_issue: int
    accepted: list[str] = field(default_factory=list)  # job ids the server answered 202 for
    bad: dict[int, int] = field(default_factory=dict)  # answers other than 202, by status

    def _request(self) -> bytes:
        host = self.url.removeprefix("http://")
        self.next_issue += 1
        body = delivery(self.next_issue)
        head = (
            f"POST /api/webhook/sentry HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/json\r\nSentry-Hook-Resource: issue\r\n"
            f"Sentry-Hook-Signature: {sign(body, SECRET)}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def _sender(self, deadline: float, run: Run) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                request = self._request()
                start = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                if not status_line:  # the server ended keep-alive (hypercorn: 1,000 requests a connection)
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    writer.write(request)
                    status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                run.latencies.append(time.perf_counter() - start)
                status = int(status_line.split()[1])
                run.statuses[status] = run.statuses.get(status, 0) + 1
                if status == 202 and b"job_id" in body:
                    self.accepted.append(json.loads(body)["job_id"])
                elif status != 202:
                    self.bad[status] = self.bad.get(status, 0) + 1
        finally:
            writer.close()

    async def run(self, concurrency: int, seconds: float) -> Run:
        run = Run(0, 0.0, [], {})
        began = time.perf_counter()
        await asyncio.gather(*(self._sender(began + seconds, run) for _ in range(concurrency)))
        run.seconds = time.perf_counter() - began
        run.requests = len(run.latencies)
        run.latencies.sort()
        return run


class JobStore:
    """Reads the service's DBOS job store directly: what reached the queue, not what was acked."""

    def __init__(self, url: str) -> None:
        if url.startswith(("postgresql://", "postgres://")):
            url, self.table = "postgresql+psycopg://" + url.split("://", 1)[1], "dbos.workflow_status"
        else:
            self.table = "workflow_status"
        self.engine = sa.create_engine(url)

    def _rows(self, sql: str) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(sa.text(sql)))
        except sa.exc.OperationalError:  # the tables do not exist until DBOS has launched
            return []

    def job_ids(self) -> set[str]:
        return {row[0] for row in self._rows(f"SELECT workflow_uuid FROM {self.table}")}

    def drop(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {self.table} WHERE workflow_uuid = :id"), {"id": job_id})

    def count(self) -> int:
        rows = self._rows(f"SELECT COUNT(*) FROM {self.table}")
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        self.engine.dispose()


def lost_deliveries(accepted: list[str], queued: set[str]) -> list[str]:
    """Job ids the service acknowledged (202) that have no job in the store."""
    return [job_id for job_id in accepted if job_id not in queued]


def wait_until(check: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `check()` held (polled every 50 ms), or None on timeout."""
    began = time.perf_counter()
    while not check():
        if time.perf_counter() - began > timeout:
            return None
        time.sleep(0.05)
    return time.perf_counter() - began


def wait_quiet(store: JobStore, load: Load, timeout: float) -> bool:
    """Until every accepted delivery is in the job queue (the hand-off is idle). The workers
    keep running queued jobs at their own pace in both runs of a pair alike."""
    return wait_until(lambda: store.count() >= len(load.accepted), timeout) is not None


@dataclass
class Sustained:
    seconds: float
    accepted: int
    queued_during_load: int  # jobs of this phase in the store when the load stopped
    peak_backlog: int
    drain_seconds: float | None

    @property
    def handoff_vs_accept(self) -> float:
        return self.queued_during_load / self.accepted if self.accepted else 0.0


async def sustained_load(load: Load, store: JobStore, seconds: float) -> Sustained:
    """Concurrency 16 for `seconds`, sampling the job store each 0.5 s."""
    before_total = await asyncio.to_thread(store.count)
    before_accepted = len(load.accepted)
    peak = 0
    running = asyncio.ensure_future(load.run(16, seconds))
    while not running.done():
        await asyncio.sleep(0.5)
        total = await asyncio.to_thread(store.count)
        peak = max(peak, len(load.accepted) - before_accepted - (total - before_total))
    run = await running
    at_stop = await asyncio.to_thread(store.count)
    accepted = len(load.accepted) - before_accepted
    drained = await asyncio.to_thread(
        wait_until, lambda: store.count() - before_total >= accepted, 120.0)
    return Sustained(run.seconds, accepted, at_stop - before_total, peak, drained)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration of each paired run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds per concurrency level (default 3)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64],
                        help="levels of the paired runs (default 1 16 64; the targets are at 16)")
    parser.add_argument("--sustain", type=float, default=60.0, help="seconds of sustained load at 16 (default 60)")
    parser.add_argument("--database-url", help="a PostgreSQL job store instead of the embedded SQLite one")
    parser.add_argument("--jobs", choices=["waiting", "failing"], default="waiting",
                        help="waiting (default): jobs wait on a Sentry that never answers, as real jobs wait on "
                             "the network; failing: Sentry refuses connections and each job fails at once")
    parser.add_argument("--drop-one", action="store_true",
                        help="delete one accepted job from the store before verifying (shows the check catches it)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 round of 1 s at 16, 3 s sustained (checks work, figures are noise)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.concurrency, args.sustain = 1.0, 1, [16], 3.0

    tmp = Path(tempfile.mkdtemp(prefix="autofixer-bench-"))
    config = tmp / "autofixer.yml"
    # Jobs run for real (the queue works while we load it), against a Sentry that keeps them waiting.
    sentry = silent_sentry() if args.jobs == "waiting" else "http://127.0.0.1:9"
    config.write_text(
        f"source: {{base-url: '{sentry}', org: {ORG}}}\n"
        "worker: {concurrency: 2, sentry-max-attempts: 1}\n"
        f"state-dir: '{tmp / 'state'}'\n"
        + (f"database-url: '{args.database_url}'\n" if args.database_url else "")
    )
    env = {**os.environ, "AUTOFIXER_WEBHOOK_SECRET": SECRET, "AUTOFIXER_SENTRY_TOKEN": "bench-token-not-real"}
    real_port, bare_port = free_port(), free_port()
    real = subprocess.Popen([sys.executable, "-m", "server.cli", "--config", str(config), "serve",
                             "--port", str(real_port), "--log-level", "WARNING"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=(tmp / "service.log").open("wb"))
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    real_url, bare_url = f"http://127.0.0.1:{real_port}", f"http://127.0.0.1:{bare_port}"
    store = JobStore(args.database_url or f"sqlite:///{tmp / 'state' / 'autofixer.sqlite'}")
    load_before = os.getloadavg()
    noisy = 0  # runs that started before the service was quiet
    try:
        wait_healthy(real_url, real)
        wait_healthy(bare_url, bare)
        load, ceiling = Load(real_url, 1_000_000), Load(bare_url, 1)
        paired: dict[int, list[tuple[Run, Run]]] = {c: [] for c in args.concurrency}
        for round_no in range(args.rounds):
            for c in args.concurrency:
                results: dict[str, Run] = {}
                for name in (("bare", "real") if round_no % 2 == 0 else ("real", "bare")):
                    noisy += not wait_quiet(store, load, QUIET_TIMEOUT_SECONDS)
                    results[name] = asyncio.run((ceiling if name == "bare" else load).run(c, args.seconds))
                paired[c].append((results["real"], results["bare"]))
                print(f"round {round_no + 1}/{args.rounds} c={c}: real p99 {results['real'].p99_ms:.1f} ms "
                      f"{results['real'].accepted_per_s:.0f}/s, bare p99 {results['bare'].p99_ms:.1f} ms "
                      f"{results['bare'].accepted_per_s:.0f}/s", file=sys.stderr)
        noisy += not wait_quiet(store, load, QUIET_TIMEOUT_SECONDS)
        sustained = asyncio.run(sustained_load(load, store, args.sustain))
        if args.drop_one and load.accepted:
            store.drop(load.accepted[0])
        queued = store.job_ids()
    finally:
        store.close()
        for proc in (real, bare):
            stop(proc)
    load_after = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)  # tens of thousands of jobs: do not leave them in /tmp

    print(f"\nwebhook intake on loopback, {os.cpu_count()} cores, {args.rounds} paired round(s) of "
          f"{args.seconds:g} s per level; medians\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}"
          + (f"; {noisy} run(s) began before the service was quiet" if noisy else "") + "\n")
    print(f"{'conc':>4} | {'real p50':>8} {'real p99':>8} {'real /s':>8} | {'bare p50':>8} {'bare p99':>8} "
          f"{'bare /s':>8} | {'p99 ×bare':>9} {'/s ×bare':>8}")
    medians: dict[int, tuple[float, float]] = {}
    for c, pairs in paired.items():
        p99_ratio = statistics.median(r.p99_ms / b.p99_ms for r, b in pairs)
        rate_ratio = statistics.median(r.accepted_per_s / b.accepted_per_s for r, b in pairs)
        medians[c] = (p99_ratio, rate_ratio)

        def med(values: list[float]) -> float:
            return statistics.median(values)

        print(f"{c:>4} | {med([r.p50_ms for r, _ in pairs]):>8.1f} {med([r.p99_ms for r, _ in pairs]):>8.1f} "
              f"{med([r.accepted_per_s for r, _ in pairs]):>8.0f} | {med([b.p50_ms for _, b in pairs]):>8.1f} "
              f"{med([b.p99_ms for _, b in pairs]):>8.1f} {med([b.accepted_per_s for _, b in pairs]):>8.0f} | "
              f"{p99_ratio:>8.2f}× {rate_ratio:>7.2f}×")
    print("(latencies in ms; /s = 202 answers per second)\n")

    missed = 0

    def target(label: str, figure: str, goal: str, ok: bool) -> None:
        nonlocal missed
        missed += not ok
        print(f"{label:<44} {figure:>12}   target {goal:<12} {verdict(ok)}")

    if 16 in medians:
        p99_ratio, rate_ratio = medians[16]
        target("p99 at concurrency 16, × the ceiling's", f"{p99_ratio:.2f}×", f"<= {TARGET_P99_VS_CEILING}×",
               p99_ratio <= TARGET_P99_VS_CEILING)
        target("throughput at concurrency 16, × the ceiling's", f"{rate_ratio:.2f}×",
               f">= {TARGET_RATE_VS_CEILING}×", rate_ratio >= TARGET_RATE_VS_CEILING)
    s = sustained
    print(f"\nsustained load at 16 for {s.seconds:.0f} s: {s.accepted} accepted ({s.accepted / s.seconds:.0f}/s), "
          f"{s.queued_during_load} in the job queue by the end ({s.queued_during_load / s.seconds:.0f}/s), "
          f"peak backlog {s.peak_backlog}")
    target("hand-off to the queue, × the accept rate", f"{s.handoff_vs_accept:.3f}×",
           f">= {TARGET_HANDOFF_VS_ACCEPT}×", round(s.handoff_vs_accept, 2) >= TARGET_HANDOFF_VS_ACCEPT)
    target("backlog drained after the load stopped", "never" if s.drain_seconds is None else f"{s.drain_seconds:.1f} s",
           f"<= {TARGET_DRAIN_SECONDS:g} s", s.drain_seconds is not None and s.drain_seconds <= TARGET_DRAIN_SECONDS)

    lost = lost_deliveries(load.accepted, queued)
    bad = sum(load.bad.values())
    print(f"\naccepted deliveries: {len(load.accepted)}, in the job queue: {len(load.accepted) - len(lost)}, "
          f"lost: {len(lost)}, other answers: {load.bad or 'none'}")
    correct = not lost and not bad and len(set(load.accepted)) == len(load.accepted)
    print(f"{'every accepted delivery queued once, every answer 202':<44} {'yes' if correct else 'NO':>12}   "
          f"target {'yes':<12} {'OK' if correct else 'FAILED'}")
    if lost:
        print(f"lost, e.g.: {', '.join(lost[:5])}")
    if not correct:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
