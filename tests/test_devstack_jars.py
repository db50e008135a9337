"""The Neo4j jar cache follows the pom: a cache filled for another pom (before the
Neo4j Browser was added, say) is topped up by Maven at the next start, once; a current one
is left alone. Maven is a stand-in script here (no network, no server), and where the
cache holds the Browser, `dev status` says where it is and which credentials it takes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.config import NEO4J_VERSION, Settings
from socialgraph.devstack import StackError, neo4j_server
from socialgraph.devstack.neo4j_server import STAMP, Neo4jServer

FAKE_MVN = """#!/bin/sh
# Records each run and "fetches" the jars the pom names into -DoutputDirectory.
echo "$@" >> "{log}"
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${{arg#-DoutputDirectory=}}";; esac
done
touch "$out/neo4j-{version}.jar"
grep -q neo4j-browser "$4" && touch "$out/neo4j-browser-5.24.0.jar"
exit 0
"""


@pytest.fixture
def maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake `mvn` first on PATH; returns the file each run is logged to."""
    bin_dir, log = tmp_path / "bin", tmp_path / "mvn.log"
    bin_dir.mkdir()
    script = bin_dir / "mvn"
    script.write_text(FAKE_MVN.format(log=log, version=NEO4J_VERSION))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_cache_from_an_older_pom_is_topped_up_once(
    tmp_path: Path, maven: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Neo4jServer(Settings(SOCIALGRAPH_CACHE_DIR=str(tmp_path / "cache")))
    # What a cache filled before the Browser looks like: the server jars, no stamp.
    server.lib.mkdir(parents=True)
    (server.lib / f"neo4j-{NEO4J_VERSION}.jar").touch()

    server.ensure_jars()
    assert runs(maven) == 1
    assert list(server.lib.glob("neo4j-browser-*.jar"))
    assert (server.lib / STAMP).read_text().strip() == neo4j_server.pom_stamp()

    server.ensure_jars()  # current: Maven is not asked again
    assert runs(maven) == 1

    # Any change to the pom (a jar added or bumped) makes the next start fetch again.
    changed = neo4j_server.pom_bytes() + b"<!-- another jar -->"
    monkeypatch.setattr(neo4j_server, "pom_bytes", lambda: changed)
    server.ensure_jars()
    assert runs(maven) == 2


def test_a_pom_without_the_browser_fails_naming_it(
    tmp_path: Path, maven: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Neo4jServer(Settings(SOCIALGRAPH_CACHE_DIR=str(tmp_path / "cache")))
    stripped = neo4j_server.pom_bytes().replace(b"neo4j-browser", b"neo4j-nothing")
    monkeypatch.setattr(neo4j_server, "pom_bytes", lambda: stripped)
    with pytest.raises(StackError, match="the Neo4j Browser"):
        server.ensure_jars()
    assert runs(maven) == 1
    assert not (server.lib / STAMP).exists()


def test_http_port_follows_the_bolt_port() -> None:
    assert neo4j_server.http_port(Settings(NEO4J_URI="bolt://127.0.0.1:7687")) == 7474
    assert neo4j_server.http_port(Settings(NEO4J_URI="bolt://127.0.0.1:7688")) == 7475
    assert (
        neo4j_server.browser_url(Settings(NEO4J_URI="bolt://127.0.0.1:7713"))
        == "http://127.0.0.1:7500/browser/"
    )


def test_the_config_enables_http_on_loopback_only(tmp_path: Path) -> None:
    server = Neo4jServer(
        Settings(NEO4J_URI="bolt://127.0.0.1:7688", SOCIALGRAPH_STATE_DIR=str(tmp_path))
    )
    server.write_config()
    conf = (server.conf_dir / "neo4j.conf").read_text().splitlines()
    assert "server.http.enabled=true" in conf
    assert "server.http.listen_address=127.0.0.1:7475" in conf
    assert "server.https.enabled=false" in conf


def test_dev_status_says_where_the_browser_is_and_which_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import get_settings
    from socialgraph.cli import app

    monkeypatch.setenv("SOCIALGRAPH_STATE_DIR", str(tmp_path))  # nothing runs there
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:7688")
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["dev", "status"]).stdout
        assert "Neo4j Browser: http://127.0.0.1:7475/browser/" in out
        assert "bolt://127.0.0.1:7688" in out
        assert "'socialgraph-local-dev' (the local default: NEO4J_PASSWORD is not set" in out

        monkeypatch.setenv("NEO4J_PASSWORD", "an-operator-secret")
        get_settings.cache_clear()
        out = CliRunner().invoke(app, ["dev", "status"]).stdout
        assert "password the value of NEO4J_PASSWORD" in out
        assert "an-operator-secret" not in out
    finally:
        get_settings.cache_clear()
