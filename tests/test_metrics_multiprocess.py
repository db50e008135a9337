"""Metrics under several workers (core/metrics.py): `socialgraph serve --workers 2` points
prometheus-client at a directory of its run, and /metrics adds up every worker, whichever
worker answers the scrape; route labels carry the full path (`/v1/...`)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from core.config import Settings
from tests.apiproc import ApiProcess
from tests.waiting import wait_until

ROUTE = "/v1/suggestions"
SHORT = "/suggestions"  # the label before route labels carried the router's prefix
LATENCY = "sg_http_request_seconds"


def scraped_count(text: str) -> float:
    """`sg_http_request_seconds_count` for GET ROUTE (either label), summed over statuses."""
    total = 0.0
    for m in re.finditer(rf"^{LATENCY}_count{{(.*)}} (\S+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m[1]))
        if labels.get("route") in (ROUTE, SHORT) and labels.get("method") == "GET":
            total += float(m[2])
    return total


def per_worker(root: Path) -> Counter[str]:
    """The count of GET ROUTE in each worker's own file (`histogram_<pid>.db`)."""
    out: Counter[str] = Counter()
    for path in root.rglob("histogram_*.db"):
        pid = path.stem.removeprefix("histogram_")
        merged = MultiProcessCollector.merge([str(path)], accumulate=True)  # type: ignore[no-untyped-call]
        for metric in merged:
            for s in metric.samples:
                if s.name == f"{LATENCY}_count" and s.labels.get("route") in (ROUTE, SHORT):
                    out[pid] += int(s.value)
    return out


def subdirectories(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.is_dir()]


async def test_two_workers_report_one_total_with_full_route_labels(
    settings: Settings, tmp_path: Path
) -> None:
    with ApiProcess(settings, workers=2, PROMETHEUS_MULTIPROC_DIR=str(tmp_path)) as api:
        sent = 0
        # Unauthenticated (401, no database): one new connection per request, many at once,
        # until both workers have served some.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=api.url, limits=limits) as c:
            for _ in range(20):
                rs = await asyncio.gather(*(c.get(ROUTE) for _ in range(20)))
                assert {r.status_code for r in rs} == {401}
                sent += len(rs)
                if len(+per_worker(tmp_path)) >= 2:
                    break
            # A request is counted just after its response is sent: wait for the last ones.
            await wait_until(lambda: sum(per_worker(tmp_path).values()) >= sent, timeout=10)
            workers = per_worker(tmp_path)
            assert len(+workers) == 2 and sum(workers.values()) == sent, (workers, sent)
            # Each scrape lands on either worker (new connections); every one sees the total.
            scrapes = [(await c.get("/metrics")).text for _ in range(8)]
    assert [scraped_count(text) for text in scrapes] == [sent] * len(scrapes), dict(workers)
    for text in scrapes:
        assert f'route="{ROUTE}"' in text and f'route="{SHORT}"' not in text
    # The run's directory (made inside the given one) is removed when the server stops.
    assert not subdirectories(tmp_path)
