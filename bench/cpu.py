"""CPU time per component during a measurement, from /proc (Linux).

On a 2-core machine the throughput ceiling is roughly 2 CPU-seconds divided by the CPU
time one request costs across every process it touches; measuring that cost per
component (load generator, API workers, Neo4j, Redis) says where the time goes. The
machine-wide busy time is read too: what is left after our processes is other people's
work on the shared cores (noise).
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()  # [0] is field 3 (state)


def process_cpu(pid: int) -> float:
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / TICK if f else 0.0


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            f = _stat_fields(int(entry.name))
            if f and int(f[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def machine_busy() -> float:
    """CPU-seconds spent busy by the whole machine since boot (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in parts]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / TICK


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class CpuMeter:
    """Call `start()` then `stop()`; the result is CPU-seconds per component."""

    server_pgids: dict[str, int] = field(default_factory=dict)  # name -> process group
    pids: dict[str, int] = field(default_factory=dict)  # name -> single pid (neo4j, redis)
    _t0: dict[str, float] = field(default_factory=dict)
    _wall0: float = 0.0

    def _snapshot(self) -> dict[str, float]:
        snap = {"client": self_cpu(), "machine": machine_busy()}
        for name, pgid in self.server_pgids.items():
            snap[name] = sum(process_cpu(p) for p in group_pids(pgid))
        for name, pid in self.pids.items():
            snap[name] = process_cpu(pid)
        return snap

    def start(self) -> None:
        self._t0 = self._snapshot()
        self._wall0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        end = self._snapshot()
        wall = time.perf_counter() - self._wall0
        used = {k: round(end[k] - self._t0.get(k, 0.0), 3) for k in end}
        ours = sum(v for k, v in used.items() if k != "machine")
        used["others"] = round(max(0.0, used["machine"] - ours), 3)
        used["wall"] = round(wall, 3)
        return used
