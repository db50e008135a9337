"""Process handling for the local stack: tools on PATH, pid files, ports, spawning,
waiting for readiness and stopping. Knows nothing about Neo4j or Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


class StackError(Exception):
    """A problem the operator can fix; the message says how."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    detail: str


def require_tool(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise StackError(f"`{tool}` was not found on PATH. {how}")
    return path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pid(path: Path) -> int | None:
    """The pid in a pid file if that process is alive, else None."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str:
    """Name the process listening on a TCP port, from /proc (no extra tools needed)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
                    return f"pid {proc.name}: {cmd.strip()}"
        except OSError:
            continue
    return "an unknown process"


def spawn(
    cmd: list[str],
    *,
    cwd: Path,
    pidfile: Path,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session (a Ctrl-C in the calling shell does not reach it)
    and record its pid. Its stdout and stderr go to `log` (appended), or nowhere."""
    out = log.open("ab") if log is not None else None
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out if out is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if out is not None else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        if out is not None:
            out.close()  # the child holds its own copy
    pidfile.write_text(str(proc.pid))
    return proc


def wait_until(
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    wait: float,
    interval: float,
    exited: Callable[[], str],
) -> bool:
    """Poll `ready` until it says yes (True) or `wait` seconds pass (False). If the process
    ends first, raise StackError with the message `exited()` builds. `ready` may raise
    StackError itself for a failure that waiting will not fix."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(exited())
        if ready():
            return True
        time.sleep(interval)
    return False


def stop_pid(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; returns once the process is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.1)


def kill_pid(pid: int) -> None:
    """SIGKILL and wait until the process is gone."""
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.05)


def stop_pidfile(pidfile: Path, name: str, timeout: float) -> str:
    """Stop the process `pidfile` names (as `stop_pid`), remove the file, and say so."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return f"{name} is not running"
    stop_pid(pid, timeout)
    pidfile.unlink(missing_ok=True)
    return f"{name} stopped (pid {pid})"


def kill_pidfile(pidfile: Path) -> None:
    """SIGKILL the process `pidfile` names, for crash tests (no shutdown save), and remove
    the file."""
    pid = read_pid(pidfile)
    if pid is not None:
        kill_pid(pid)
    pidfile.unlink(missing_ok=True)


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log yet)"
