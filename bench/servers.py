"""uvicorn subprocesses for the benchmark: the API and the bare comparison app, started
with the same settings (host, worker count, event loop, HTTP parser, logging), each in
its own process group so that stopping one stops its workers and nothing else."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def uvicorn_args(target: str, port: int, workers: int) -> list[str]:
    """The one uvicorn command line every benchmarked server gets."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
        # As `socialgraph serve`: a protocol-level cap on WebSocket frames, pings every 20 s.
        "--ws-max-size",
        str(64 * 1024),
        "--ws-ping-interval",
        "20",
        "--ws-ping-timeout",
        "20",
        "--timeout-graceful-shutdown",
        "5",
    ]


@dataclass
class Server:
    name: str
    target: str
    workers: int
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    cwd: Path = REPO_ROOT  # another checkout serves a patched copy of the API
    proc: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return uvicorn_args(self.target, self.port, self.workers)

    def start(self, ready_path: str = "/healthz", timeout: float = 120.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        url = f"http://{HOST}:{self.port}{ready_path}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited at startup; see {self.log_dir}/{self.name}.log"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # the group we created: uvicorn and its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
