"""A real API server for tests that need one: a uvicorn subprocess on a free loopback port.

Fault, leak and limit tests use it because they need a separate process: its file
descriptors, its connection pools and its asyncio tasks are observed from outside, and it
must keep running (not be restarted) while Neo4j or Redis go away and come back.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from core.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiProcess:
    """`with ApiProcess(settings, WS_QUEUE_SIZE="4") as api:` ... `api.url`, `api.pid`.

    By default plain uvicorn, quiet (warnings only). `cli=True` starts it the way
    production does, through `socialgraph serve` (its log configuration, `workers`,
    `log_level`); `pid` is then uvicorn's supervisor when there are several workers."""

    def __init__(
        self,
        settings: Settings,
        *,
        cli: bool = False,
        workers: int = 1,
        log_level: str = "warning",
        **env: str,
    ) -> None:
        self.cli = cli or workers > 1
        self.workers = workers
        self.log_level = log_level
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log_path: Path = settings.state_dir / f"api-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_start = 0
        self.roles = {settings.neo4j_port: "neo4j", settings.redis_port: "redis"}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.cli:
            command = [
                str(Path(sys.executable).parent / "socialgraph"),
                "serve",
                *address,
                "--workers",
                str(self.workers),
                "--log-level",
                self.log_level,
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app_factory",
                "--factory",
                *address,
                "--log-level",
                self.log_level,
                "--ws-max-size",
                "65536",
            ]
        with self.log_path.open("ab") as log:
            self.log_start = log.tell()
            self.proc = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"API exited; see {self.log_path}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"API did not start; see {self.log_path}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> ApiProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- observation

    def log_text(self) -> str:
        """What the server wrote to stdout and stderr since this start."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_start)
            return log.read().decode("utf-8", "replace")

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def metric(self, name: str, default: float | None = None, **labels: str) -> float:
        """The sum of a metric's samples at /metrics whose labels include `labels`
        (`default` when there is none: a labelled counter appears on first use)."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        total, found = 0.0, False
        for m in re.finditer(rf"^{re.escape(name)}(?:{{(.*)}})? (\S+)$", text, re.M):
            have = dict(re.findall(r'(\w+)="([^"]*)"', m[1] or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total, found = total + float(m[2]), True
        if not found:
            assert default is not None, f"{name} {labels} is not at /metrics"
            return default
        return total

    def tcp_peers(self) -> dict[str, int]:
        """Established TCP connections of the server process, by the remote port's role:
        {"neo4j": n, "redis": n, "clients": n}, read from /proc (no extra tools)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        counts: dict[str, int] = {}
        for table in ("tcp", "tcp6"):
            try:
                lines = Path(f"/proc/{self.pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                parts = line.split()
                local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
                if inode not in inodes or state != "01":  # 01 = ESTABLISHED
                    continue
                local_port = int(local.rsplit(":", 1)[1], 16)
                remote_port = int(remote.rsplit(":", 1)[1], 16)
                if local_port == self.port:
                    role = "clients"
                else:
                    role = self.roles.get(remote_port, str(remote_port))
                counts[role] = counts.get(role, 0) + 1
        return counts
