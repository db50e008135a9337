"""The run's bookkeeping: the timestamped log, the rows every measurement records
(`Bench.record`), and at the end results.json, results.md and latency.png with the run's
metadata (`finish`; ratios, targets and the report itself come from bench/report.py)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.plan import REPO_ROOT, SERVER_ENV, Plan

if TYPE_CHECKING:
    from core.config import Settings


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Row:
    endpoint: str
    variant: str
    concurrency: int
    stats: dict[str, Any]
    cpu: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        n = max(1, self.stats["requests"])
        per_request = {
            k: round(v * 1000 / n, 3)
            for k, v in self.cpu.items()
            if k not in ("machine", "wall", "others")
        }
        wall = self.cpu.get("wall", 0.0)
        return {
            "endpoint": self.endpoint,
            "variant": self.variant,
            "concurrency": self.concurrency,
            **self.stats,
            "cpu_ms_per_request": per_request,
            "others_cpu_cores": round(self.cpu.get("others", 0.0) / wall, 2) if wall else None,
        }


@dataclass
class Bench:
    plan: Plan
    args: argparse.Namespace
    sections: set[str]
    out: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def record(self, row: Row) -> None:
        self.rows.append(row)
        s = row.stats
        log(
            f"  {row.endpoint:<13} {row.variant:<13} c={row.concurrency:<3} "
            f"n={s['requests']:<6} err={s['errors']:<3} {s['throughput_rps']:>8.1f} req/s  "
            f"p50 {s['p50_ms']:8.2f}  p95 {s['p95_ms']:8.2f}  p99 {s['p99_ms']:8.2f} ms"
            + (f"  errors: {s['error_examples']}" if s["errors"] else "")
        )


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def finish(bench: Bench, settings: Settings) -> None:
    from bench import report

    plan = bench.plan
    dirty = git("status", "--porcelain", "--", "api", "graph", "queries")
    one, five, fifteen = os.getloadavg()
    argv = " ".join(sys.argv[1:])
    results: dict[str, Any] = {
        "meta": {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"python -m bench.run {argv}".strip(),
            "git_commit": git("rev-parse", "--short", "HEAD")
            + (" + uncommitted changes in api/graph/queries" if dirty else ""),
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_at_end": [round(one, 2), round(five, 2), round(fifteen, 2)],
            },
            "stack": {
                "neo4j_uri": settings.neo4j_uri,
                "redis_url": settings.redis_url,
                "neo4j_heap": settings.neo4j_heap,
                "neo4j_pagecache": settings.neo4j_pagecache,
            },
            "server": {
                "workers": plan.workers,
                "uvicorn": "--loop uvloop --http httptools --log-level warning --no-access-log",
                "env": SERVER_ENV,
            },
            "client": "bench.client (asyncio streams, HTTP/1.1 keep-alive) on uvloop, one process",
            "plan": asdict(plan),
            "sections": sorted(bench.sections),
        },
        **bench.out,
        "rows": [r.as_dict() for r in bench.rows],
    }
    results["ratios"] = report.ratios(results)
    results["targets"] = report.targets(results)
    out = bench.args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    md = report.markdown(results)
    (out / "results.md").write_text(md)
    report.plot(results, out / "latency.png")
    print()
    print(md)
    log(f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'latency.png'}")
