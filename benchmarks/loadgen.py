"""Mixed load on one running JIP: storescu senders and concurrent HTTP query clients.

Used by ``benchmarks/load_bench.py`` (60 s, full size) and by the bounded load test in
``tests/proof``. Every sender is a real dcmtk ``storescu`` (TCP_NODELAY=1), every query
client an httpx connection in one asyncio loop; requests are bounded in time and count.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import tool_env

STORESCU = shutil.which("storescu") or "storescu"
QIDO = "/dicomweb/studies"
FALLBACK = "/api/v1/health"


@dataclass
class LoadResult:
    seconds: float
    store_runs: int = 0
    store_failures: int = 0
    instances_sent: int = 0
    failure_messages: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    server_errors: int = 0
    client_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q / 100 * len(data)))]

    def summary(self) -> str:
        n = len(self.latencies_ms)
        mean = statistics.fmean(self.latencies_ms) if n else float("nan")
        return (
            f"stores: {self.store_runs} storescu runs, {self.instances_sent} instances, "
            f"{self.store_failures} failed\n"
            f"queries: {n} in {self.seconds:.0f} s ({n / self.seconds:.0f}/s), "
            f"5xx {self.server_errors}, transport errors {self.client_errors}, "
            f"statuses {dict(sorted(self.statuses.items()))}\n"
            f"latency ms: mean {mean:.1f} p50 {self.percentile(50):.1f} "
            f"p95 {self.percentile(95):.1f} p99 {self.percentile(99):.1f} "
            f"max {max(self.latencies_ms, default=float('nan')):.1f}"
        )


def pick_endpoint(base_url: str) -> str:
    """QIDO-RS studies search once it exists on this build, else the health check."""
    try:
        r = httpx.get(base_url + QIDO, params={"limit": "10"}, timeout=30)
    except httpx.HTTPError:
        return FALLBACK
    return QIDO if r.status_code in (200, 204) else FALLBACK


def _sender(
    port: int,
    files: list[Path],
    deadline: float,
    once: bool,
    result: LoadResult,
    lock: threading.Lock,
) -> None:
    while True:
        r = subprocess.run(
            [STORESCU, "-aet", "LOAD", "-aec", "JIP", "127.0.0.1", str(port), *map(str, files)],
            env=tool_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        with lock:
            result.store_runs += 1
            if r.returncode != 0:
                result.store_failures += 1
                result.failure_messages.append(r.stderr[-500:])
            else:
                result.instances_sent += len(files)
        if once or time.monotonic() >= deadline:
            return


async def _queries(url: str, clients: int, deadline: float, result: LoadResult) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def one_client() -> None:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    r = await http.get(url)
                except httpx.HTTPError:
                    result.client_errors += 1
                    await asyncio.sleep(0.05)
                    continue
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                result.statuses[r.status_code] = result.statuses.get(r.status_code, 0) + 1
                if r.status_code >= 500:
                    result.server_errors += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))


def run_load(
    base_url: str,
    dicom_port: int,
    sender_files: list[list[Path]],
    *,
    http_clients: int,
    seconds: float,
    endpoint: str | None = None,
    senders_once: bool = False,
) -> LoadResult:
    """Run ``len(sender_files)`` storescu loops and ``http_clients`` query loops for
    ``seconds`` (senders started before the deadline finish their run; with
    ``senders_once`` each sends its files exactly once)."""
    endpoint = endpoint or pick_endpoint(base_url)
    result = LoadResult(seconds=seconds)
    lock = threading.Lock()
    t0 = time.monotonic()
    deadline = t0 + seconds
    threads = [
        threading.Thread(
            target=_sender, args=(dicom_port, files, deadline, senders_once, result, lock)
        )
        for files in sender_files
    ]
    for t in threads:
        t.start()
    asyncio.run(_queries(base_url + endpoint, http_clients, deadline, result))
    for t in threads:
        t.join()
    result.seconds = max(seconds, time.monotonic() - t0)
    return result
