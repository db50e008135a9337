"""The local Neo4j 5.26 Community server: jars from Maven Central, a generated
`neo4j.conf`, the initial password, start (waiting for Bolt), stop and status.

neo4j.com is unreachable from our machines, so the server is assembled from its jars on
Maven Central (`socialgraph/resources/neo4j-pom.xml`, shipped in the package) and
launched with the JDK through its real entry point, `org.neo4j.server.CommunityEntryPoint`.

The Neo4j Browser comes the same way (`org.neo4j.client:neo4j-browser`, a jar holding the
web app): on the classpath, the server serves it at `/browser/` of its HTTP connector,
which listens on 127.0.0.1 only, on the port `http_port` derives from the Bolt port
(7687 -> 7474, the test stack's 7688 -> 7475), so every stack has its own.

The jar cache (`~/.cache/socialgraph/neo4j-<version>/lib`, shared by every stack of the
machine) is stamped with a hash of the pom: a changed pom (a jar added) makes the next
start run Maven again, under a file lock, adding what is missing. Jars already there are
never rewritten, so a server running from the cache is not disturbed.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.resources
import os
import subprocess
from pathlib import Path

from core.config import NEO4J_VERSION, Settings
from graph.queries import q
from socialgraph.devstack.process import (
    ServiceStatus,
    StackError,
    port_open,
    port_owner,
    read_pid,
    require_tool,
    spawn,
    stop_pidfile,
    tail,
    wait_until,
)

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
JDK_HOW = "Install a JDK 17+ (`apt-get install -y openjdk-17-jdk`)."
# Bolt 7687 -> HTTP 7474, Neo4j's own defaults; any other stack keeps the same distance.
HTTP_PORT_OFFSET = 7687 - 7474
STAMP = ".provisioned"  # in lib/: the hash of the pom the jars were fetched for


def http_port(settings: Settings) -> int:
    """The HTTP connector's port (Neo4j Browser), derived from the Bolt port."""
    return settings.neo4j_port - HTTP_PORT_OFFSET


def browser_url(settings: Settings) -> str:
    return f"http://{settings.neo4j_host}:{http_port(settings)}/browser/"


def pom_bytes() -> bytes:
    """The pom shipped in the package (so an installed wheel can fetch the jars too)."""
    return (importlib.resources.files("socialgraph") / "resources" / "neo4j-pom.xml").read_bytes()


def pom_stamp() -> str:
    return hashlib.sha256(NEO4J_VERSION.encode() + b"\0" + pom_bytes()).hexdigest()


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
    def jars_current(self, stamp: str) -> bool:
        marker = self.lib / f"neo4j-{NEO4J_VERSION}.jar"
        stamp_file = self.lib / STAMP
        return marker.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp

    def ensure_jars(self) -> None:
        """Fetch the jars the pom names, unless the cache was filled for this very pom."""
        stamp = pom_stamp()
        if self.jars_current(stamp):
            return
        require_tool(
            "java",
            "Install a JDK 17+ (Debian: `apt-get install -y openjdk-17-jre-headless`).",
        )
        mvn = require_tool("mvn", "Install Maven (Debian: `apt-get install -y maven`).")
        self.lib.mkdir(parents=True, exist_ok=True)
        # One Maven at a time per cache: several stacks may start at once.
        with (self.lib.parent / ".provision.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.jars_current(stamp):
                return
            print(f"Fetching Neo4j {NEO4J_VERSION} jars from Maven Central into {self.lib} ...")
            # Maven reads the very bytes the stamp hashes.
            pom = self.lib.parent / "neo4j-pom.xml"
            pom.write_bytes(pom_bytes())
            result = self._maven(mvn, pom)
            missing = [
                name
                for name, pattern in (
                    ("the server", f"neo4j-{NEO4J_VERSION}.jar"),
                    ("the Neo4j Browser", "neo4j-browser-*.jar"),
                )
                if not any(self.lib.glob(pattern))
            ]
            if result.returncode != 0 or missing:
                raise StackError(
                    f"Maven could not fetch the Neo4j jars ({', '.join(missing) or 'failed'}):\n"
                    + (result.stdout + result.stderr)[-3000:]
                    + "\nCheck that Maven Central is reachable (`mvn -v`, ~/.m2/settings.xml)."
                )
            (self.lib / STAMP).write_text(stamp + "\n")

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
        host, port, http = self.s.neo4j_host, self.s.neo4j_port, http_port(self.s)
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
# HTTP on loopback only, for the Neo4j Browser (/browser/, from the neo4j-browser jar);
# it logs in over Bolt with the same user and password.
server.http.enabled=true
server.http.listen_address={host}:{http}
server.http.advertised_address={host}:{http}
server.https.enabled=false
# No usage reports from the Browser to neo4j.com.
client.allow_telemetry=false
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
        java = require_tool("java", JDK_HOW)
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
        return read_pid(self.pidfile)

    def start(self, wait: float = 180.0) -> str:
        if (pid := self.pid()) is not None:
            return f"Neo4j already running (pid {pid}) on {self.s.neo4j_uri}"
        if port_open(self.s.neo4j_host, self.s.neo4j_port):
            raise StackError(
                f"Port {self.s.neo4j_port} (Neo4j Bolt) is already in use by "
                f"{port_owner(self.s.neo4j_port)}. Stop it or set NEO4J_URI to another port."
            )
        http = http_port(self.s)
        if port_open(self.s.neo4j_host, http):
            raise StackError(
                f"Port {http} (Neo4j HTTP, the Bolt port - {HTTP_PORT_OFFSET}) is already in use "
                f"by {port_owner(http)}. Stop it or set NEO4J_URI to another Bolt port."
            )
        java = require_tool("java", JDK_HOW)
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
        proc = spawn(
            cmd, cwd=self.home, pidfile=self.pidfile, log=self.console_log, env=self._env()
        )
        if not wait_until(
            proc,
            self._answers,
            wait=wait,
            interval=0.5,
            exited=lambda: (
                f"Neo4j exited with code {proc.returncode} during startup. "
                f"Last lines of {self.console_log}:\n{tail(self.console_log)}"
            ),
        ):
            raise StackError(
                f"Neo4j did not answer on {self.s.neo4j_uri} within {wait:.0f}s. "
                f"See {self.console_log}:\n{tail(self.console_log)}"
            )
        return f"Neo4j {NEO4J_VERSION} started (pid {proc.pid}) on {self.s.neo4j_uri}"

    def _answers(self) -> bool:
        """True once Bolt accepts our credentials and the database runs a query. A wrong
        password will not fix itself by waiting, so it raises StackError."""
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

        if not port_open(self.s.neo4j_host, self.s.neo4j_port):
            return False
        if not port_open(self.s.neo4j_host, http_port(self.s)):
            return False  # the Browser's connector starts with Bolt; wait for both
        try:
            with GraphDatabase.driver(
                self.s.neo4j_uri,
                auth=(self.s.neo4j_user, self.s.neo4j_password),
                connection_timeout=3,
            ) as driver:
                driver.verify_connectivity()
                driver.execute_query(q("system.ping").text, database_=self.s.neo4j_database)
            return True
        except AuthError as exc:
            raise StackError(
                "Neo4j is up but rejected the password from NEO4J_PASSWORD "
                f"({exc.message}). "
                f"The state in {self.home} was created with another password: "
                "set NEO4J_PASSWORD to it, or `socialgraph dev reset` to start fresh."
            ) from exc
        except (ServiceUnavailable, Neo4jError, OSError):
            return False

    def stop(self) -> str:
        return stop_pidfile(self.pidfile, "Neo4j", timeout=60)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        answering = pid is not None and port_open(self.s.neo4j_host, self.s.neo4j_port)
        detail = "answering on Bolt" if answering else ("starting" if pid else "stopped")
        return ServiceStatus(
            "neo4j", pid is not None, pid, self.s.neo4j_uri, f"{detail}; logs: {self.logs}"
        )
