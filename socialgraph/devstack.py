"""The local stack: a real Neo4j 5.26 Community server and a real Redis server.

There is no Docker engine on our machines and neo4j.com is unreachable, so the
Neo4j server is assembled from its jars on Maven Central (`socialgraph/resources/neo4j-pom.xml`)
and launched with the JDK through its real entry point,
`org.neo4j.server.CommunityEntryPoint`. Redis comes from Debian's `redis-server`.

Everything lives under `Settings.state_dir` (data, logs, pid files, generated
configs); ports come from `NEO4J_URI` and `REDIS_URL`, so a second stack (the test
stack) is just another state dir and another pair of ports.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import NEO4J_VERSION, Settings

NEO4J_MAIN = "org.neo4j.server.CommunityEntryPoint"
NEO4J_ADMIN_MAIN = "org.neo4j.cli.AdminTool"
# The flags the stock neo4j.conf passes to Java 17 (server.jvm.additional).
JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+AlwaysPreTouch",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
]


class StackError(Exception):
    """A problem the operator can fix; the message says how."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    detail: str


# ---------------------------------------------------------------- helpers


def _require_tool(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise StackError(f"`{tool}` was not found on PATH. {how}")
    return path


def _pid_alive(pid: int) -> bool:
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


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


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


def _stop_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while _pid_alive(pid):
        time.sleep(0.1)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log yet)"


# ---------------------------------------------------------------- Neo4j


class Neo4jServer:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.home = settings.state_dir / "neo4j"
        self.conf_dir = self.home / "conf"
        self.logs = self.home / "logs"
        self.pidfile = self.home / "run" / "neo4j.pid"
        self.console_log = self.logs / "console.log"
        self.lib = settings.neo4j_home / "lib"

    # -- provisioning
    def ensure_jars(self) -> None:
        marker = self.lib / f"neo4j-{NEO4J_VERSION}.jar"
        if marker.exists():
            return
        _require_tool(
            "java",
            "Install a JDK 17+ (Debian: `apt-get install -y openjdk-17-jre-headless`).",
        )
        mvn = _require_tool("mvn", "Install Maven (Debian: `apt-get install -y maven`).")
        print(f"Fetching Neo4j {NEO4J_VERSION} jars from Maven Central into {self.lib} ...")
        self.lib.mkdir(parents=True, exist_ok=True)
        # The pom ships inside the package, so an installed wheel can fetch the jars too.
        pom_file = importlib.resources.files("socialgraph") / "resources" / "neo4j-pom.xml"
        with importlib.resources.as_file(pom_file) as pom:
            result = self._maven(mvn, pom)
        if result.returncode != 0 or not marker.exists():
            raise StackError(
                "Maven could not fetch the Neo4j jars:\n"
                + (result.stdout + result.stderr)[-3000:]
                + "\nCheck that Maven Central is reachable (`mvn -v`, ~/.m2/settings.xml)."
            )

    def _maven(self, mvn: str, pom: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.lib}",
                f"-Dneo4j.version={NEO4J_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )

    def write_config(self) -> None:
        for d in ("conf", "data", "logs", "run", "plugins", "import"):
            (self.home / d).mkdir(parents=True, exist_ok=True)
        host, port = self.s.neo4j_host, self.s.neo4j_port
        conf = f"""# Generated by `socialgraph dev up`; edits are overwritten.
server.directories.data={self.home / "data"}
server.directories.logs={self.logs}
server.directories.run={self.home / "run"}
server.directories.plugins={self.home / "plugins"}
server.directories.import={self.home / "import"}
server.default_listen_address={host}
server.bolt.enabled=true
server.bolt.listen_address={host}:{port}
server.bolt.advertised_address={host}:{port}
server.http.enabled=false
server.https.enabled=false
server.memory.heap.initial_size={self.s.neo4j_heap}
server.memory.heap.max_size={self.s.neo4j_heap}
server.memory.pagecache.size={self.s.neo4j_pagecache}
dbms.security.auth_enabled=true
dbms.usage_report.enabled=false
# Analysts' ad-hoc queries are bounded by the API too; this is the server's backstop.
db.transaction.timeout=60s
db.lock.acquisition.timeout=20s
# No Bolt keep-alive NOOPs, hence no `connection.recv_timeout_seconds` hint: with the hint
# the Python driver wraps every socket read in a timeout task, about 110 us per record.
# The API bounds every Neo4j call itself (graph.db.Graph); docs/benchmarks.md, change 9.
server.bolt.connection_keep_alive_for_requests=OFF
"""
        (self.conf_dir / "neo4j.conf").write_text(conf)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}

    def set_initial_password(self) -> None:
        """Before the first start only: Neo4j ignores it once the system db exists."""
        if (self.home / "data" / "databases" / "system").exists():
            return
        java = _require_tool("java", "Install a JDK 17+ (`apt-get install -y openjdk-17-jdk`).")
        result = subprocess.run(
            [
                java,
                "-cp",
                f"{self.lib}/*",
                NEO4J_ADMIN_MAIN,
                "dbms",
                "set-initial-password",
                self.s.neo4j_password,
            ],
            env=self._env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise StackError("neo4j-admin set-initial-password failed:\n" + result.stderr[-2000:])

    # -- lifecycle
    def pid(self) -> int | None:
        return _read_pid(self.pidfile)

    def start(self, wait: float = 180.0) -> str:
        if (pid := self.pid()) is not None:
            return f"Neo4j already running (pid {pid}) on {self.s.neo4j_uri}"
        if port_open(self.s.neo4j_host, self.s.neo4j_port):
            raise StackError(
                f"Port {self.s.neo4j_port} (Neo4j Bolt) is already in use by "
                f"{port_owner(self.s.neo4j_port)}. Stop it or set NEO4J_URI to another port."
            )
        java = _require_tool("java", "Install a JDK 17+ (`apt-get install -y openjdk-17-jdk`).")
        self.ensure_jars()
        self.write_config()
        self.set_initial_password()
        cmd = [
            java,
            f"-Xms{self.s.neo4j_heap}",
            f"-Xmx{self.s.neo4j_heap}",
            *JVM_FLAGS,
            "-cp",
            f"{self.lib}/*",
            NEO4J_MAIN,
            f"--home-dir={self.home}",
            f"--config-dir={self.conf_dir}",
            "--console-mode",
        ]
        log = self.console_log.open("ab")
        proc = subprocess.Popen(
            cmd,
            cwd=self.home,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pidfile.write_text(str(proc.pid))
        self._wait_for_bolt(proc, wait)
        return f"Neo4j {NEO4J_VERSION} started (pid {proc.pid}) on {self.s.neo4j_uri}"

    def _wait_for_bolt(self, proc: subprocess.Popen[bytes], wait: float) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(
                    f"Neo4j exited with code {proc.returncode} during startup. "
                    f"Last lines of {self.console_log}:\n{_tail(self.console_log)}"
                )
            if port_open(self.s.neo4j_host, self.s.neo4j_port):
                try:
                    with GraphDatabase.driver(
                        self.s.neo4j_uri,
                        auth=(self.s.neo4j_user, self.s.neo4j_password),
                        connection_timeout=3,
                    ) as driver:
                        driver.verify_connectivity()
                        driver.execute_query("RETURN 1", database_=self.s.neo4j_database)
                    return
                except AuthError as exc:
                    raise StackError(
                        "Neo4j is up but rejected the password from NEO4J_PASSWORD "
                        f"({exc.message}). "
                        f"The state in {self.home} was created with another password: "
                        "set NEO4J_PASSWORD to it, or `socialgraph dev reset` to start fresh."
                    ) from exc
                except (ServiceUnavailable, Neo4jError, OSError):
                    pass
            time.sleep(0.5)
        raise StackError(
            f"Neo4j did not answer on {self.s.neo4j_uri} within {wait:.0f}s. "
            f"See {self.console_log}:\n{_tail(self.console_log)}"
        )

    def stop(self) -> str:
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return "Neo4j is not running"
        _stop_pid(pid, timeout=60)
        self.pidfile.unlink(missing_ok=True)
        return f"Neo4j stopped (pid {pid})"

    def status(self) -> ServiceStatus:
        pid = self.pid()
        answering = pid is not None and port_open(self.s.neo4j_host, self.s.neo4j_port)
        detail = "answering on Bolt" if answering else ("starting" if pid else "stopped")
        return ServiceStatus(
            "neo4j", pid is not None, pid, self.s.neo4j_uri, f"{detail}; logs: {self.logs}"
        )


# ---------------------------------------------------------------- Redis


class RedisServer:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.home = settings.state_dir / "redis"
        self.pidfile = self.home / "redis.pid"
        self.logfile = self.home / "redis.log"
        self.conf = self.home / "redis.conf"

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            f"""# Generated by `socialgraph dev up`; edits are overwritten.
bind {self.s.redis_host}
port {self.s.redis_port}
protected-mode yes
daemonize no
dir {self.home}
logfile {self.logfile}
# Durability: the inbox is stored here, so AOF is on.
appendonly yes
appendfsync {self.s.redis_appendfsync}
appenddirname appendonly
save ""
maxmemory 512mb
maxmemory-policy noeviction
"""
        )

    def pid(self) -> int | None:
        return _read_pid(self.pidfile)

    def start(self, wait: float = 20.0) -> str:
        if (pid := self.pid()) is not None:
            return f"Redis already running (pid {pid}) on {self.s.redis_url}"
        if port_open(self.s.redis_host, self.s.redis_port):
            raise StackError(
                f"Port {self.s.redis_port} (Redis) is already in use by "
                f"{port_owner(self.s.redis_port)}. Stop it or set REDIS_URL to another port."
            )
        server = _require_tool(
            "redis-server",
            "Install it with `apt-get update && apt-get install -y redis-server` "
            "(`make bootstrap` does this).",
        )
        self.write_config()
        proc = subprocess.Popen(
            [server, str(self.conf)],
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"redis-server exited during startup:\n{_tail(self.logfile)}")
            if self._ping():
                return f"Redis started (pid {proc.pid}) on {self.s.redis_url}"
            time.sleep(0.1)
        raise StackError(f"Redis did not answer within {wait:.0f}s:\n{_tail(self.logfile)}")

    def _ping(self) -> bool:
        import redis

        try:
            client = redis.Redis(
                host=self.s.redis_host,
                port=self.s.redis_port,
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            ok = bool(client.ping())
            client.close()
            return ok
        except redis.RedisError:
            return False

    def stop(self) -> str:
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return "Redis is not running"
        _stop_pid(pid, timeout=20)
        self.pidfile.unlink(missing_ok=True)
        return f"Redis stopped (pid {pid})"

    def kill(self) -> None:
        """SIGKILL, for crash tests: no shutdown save, only the AOF survives."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        ok = pid is not None and self._ping()
        detail = "answering PING" if ok else ("not answering" if pid else "stopped")
        return ServiceStatus(
            "redis", pid is not None, pid, self.s.redis_url, f"{detail}; log: {self.logfile}"
        )


# ---------------------------------------------------------------- stack


def up(settings: Settings) -> list[str]:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return [RedisServer(settings).start(), Neo4jServer(settings).start()]


def down(settings: Settings) -> list[str]:
    return [Neo4jServer(settings).stop(), RedisServer(settings).stop()]


def status(settings: Settings) -> list[ServiceStatus]:
    return [Neo4jServer(settings).status(), RedisServer(settings).status()]


def reset(settings: Settings) -> list[str]:
    msgs = down(settings)
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
        msgs.append(f"Removed {settings.state_dir}")
    return msgs
