"""Webhook intake benchmark: ack latency and throughput of the real service on loopback.

Starts `autofixer serve` (SQLite job store in a temp dir) and, for the ceiling, a bare Quart
endpoint on the same server stack that answers 202 without verifying or storing anything.
Sends signed `issue.created` deliveries, each for a new issue, at concurrency 1, 16 and 64,
then checks that every accepted delivery has exactly one job.

    .venv/bin/python bench/webhook.py [--seconds 5] [--concurrency 1 16 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sources.sentry.webhook import sign  # noqa: E402

SECRET = "bench-secret-not-real"
TARGET_P99_MS_AT_16 = 50.0
TARGET_RATE = 300.0
TARGET_CEILING_SHARE = 0.40

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
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Load:
    """Signed deliveries over keep-alive HTTP/1.1 connections, one per concurrent sender.

    A hand-rolled client on asyncio streams rather than httpx: on two cores the load generator
    shares the CPU with the server, and a heavy client would measure itself instead.
    """

    def __init__(self, url: str, first_issue: int) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.next_issue = first_issue
        self.accepted: list[str] = []

    def _request(self) -> bytes:
        self.next_issue += 1
        body = delivery(self.next_issue)
        head = (
            f"POST /api/webhook/sentry HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nSentry-Hook-Resource: issue\r\n"
            f"Sentry-Hook-Signature: {sign(body, SECRET)}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def _sender(self, deadline: float, latencies: list[float], statuses: dict[int, int]) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while time.perf_counter() < deadline:
                request = self._request()
                start = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                if not status_line:  # the server ended keep-alive (hypercorn: 1,000 requests a connection)
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    writer.write(request)
                    status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                status = int(status_line.split()[1])
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202 and b"job_id" in body:
                    self.accepted.append(json.loads(body)["job_id"])
        finally:
            writer.close()

    async def run(self, concurrency: int, seconds: float) -> dict[str, float]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(*(self._sender(deadline, latencies, statuses) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        latencies.sort()
        return {
            "requests": len(latencies),
            "accepted_per_s": statuses.get(202, 0) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "non_202": sum(v for k, v in statuses.items() if k != 202),
        }


def wait_forwarded(url: str) -> float:
    """Seconds until every accepted delivery has left the inbox for the job queue."""
    began = time.perf_counter()
    while time.perf_counter() - began < 120:
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        if 'autofixer_jobs{state="received"} 0' in metrics:
            break
        time.sleep(0.2)
    return time.perf_counter() - began


async def count_jobs(url: str, job_ids: list[str]) -> tuple[int, int]:
    """(jobs found, jobs missing) for the accepted ids, through the service's jobs API."""
    found = missing = 0
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(job_id: str) -> None:
            nonlocal found, missing
            async with sem:
                response = await client.get(f"{url}/api/jobs/{job_id}")
            if response.status_code == 200:
                found += 1
            else:
                missing += 1

        await asyncio.gather(*(one(j) for j in job_ids))
    return found, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="autofixer-bench-"))
    config = tmp / "autofixer.yml"
    # Jobs run for real against an unreachable Sentry and fail fast: the queue works while we load it.
    config.write_text(
        "source: {base-url: 'http://127.0.0.1:9', org: bench}\n"
        "worker: {concurrency: 2, sentry-max-attempts: 1}\n"
        f"state-dir: '{tmp / 'state'}'\n"
    )
    env = {**os.environ, "AUTOFIXER_WEBHOOK_SECRET": SECRET, "AUTOFIXER_SENTRY_TOKEN": "bench-token-not-real"}
    real_port, bare_port = free_port(), free_port()
    real = subprocess.Popen([sys.executable, "-m", "server.cli", "--config", str(config), "serve",
                             "--port", str(real_port), "--log-level", "WARNING"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=(tmp / "service.log").open("wb"))
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    real_url, bare_url = f"http://127.0.0.1:{real_port}", f"http://127.0.0.1:{bare_port}"
    try:
        wait_healthy(real_url, real)
        wait_healthy(bare_url, bare)
        load = Load(real_url, first_issue=1_000_000)
        ceiling = Load(bare_url, first_issue=1)
        rows = []
        for c in args.concurrency:
            measured = asyncio.run(load.run(c, args.seconds))
            bare_measured = asyncio.run(ceiling.run(c, args.seconds))
            rows.append((c, measured, bare_measured))
        drained = wait_forwarded(real_url)
        found, missing = asyncio.run(count_jobs(real_url, load.accepted))
    finally:
        for proc in (real, bare):
            proc.terminate()
            proc.wait(20)

    print(f"\nwebhook intake on loopback, {args.seconds:.0f} s per level (2-core machine)\n")
    print(f"{'conc':>4} | {'real p50 ms':>11} {'real p99 ms':>11} {'real acc/s':>10} | "
          f"{'bare p50 ms':>11} {'bare p99 ms':>11} {'bare req/s':>10} | {'real/bare':>9}")
    for c, m, b in rows:
        print(f"{c:>4} | {m['p50_ms']:>11.1f} {m['p99_ms']:>11.1f} {m['accepted_per_s']:>10.0f} | "
              f"{b['p50_ms']:>11.1f} {b['p99_ms']:>11.1f} {b['accepted_per_s']:>10.0f} | "
              f"{m['accepted_per_s'] / b['accepted_per_s']:>8.0%}")
    at16 = next((m, b) for c, m, b in rows if c == 16) if 16 in args.concurrency else None
    print()
    if at16:
        m, b = at16
        share = m["accepted_per_s"] / b["accepted_per_s"]
        best = max(r[1]["accepted_per_s"] for r in rows)
        print(f"p99 at concurrency 16: {m['p99_ms']:.1f} ms   (target < {TARGET_P99_MS_AT_16:.0f} ms)  "
              f"{'OK' if m['p99_ms'] < TARGET_P99_MS_AT_16 else 'MISSED'}")
        print(f"accepted/s (best level): {best:.0f}   (target >= {TARGET_RATE:.0f})  "
              f"{'OK' if best >= TARGET_RATE else 'MISSED'}")
        print(f"share of ceiling at 16: {share:.0%}   (target >= {TARGET_CEILING_SHARE:.0%})  "
              f"{'OK' if share >= TARGET_CEILING_SHARE else 'MISSED'}")
    non_202 = sum(r[1]["non_202"] for r in rows)
    print(f"inbox drained into the job queue {drained:.1f} s after the load ended")
    print(f"accepted deliveries: {len(load.accepted)}, with a job: {found}, lost: {missing}, "
          f"non-202 answers: {non_202}   (target: 0 lost)  {'OK' if missing == 0 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
