"""The local stack is real: Neo4j 5.26 Community over Bolt with the project's password,
Redis with AOF; dev up/down are idempotent and report port clashes by name."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import redis

from core.config import Settings
from graph.db import Neo4jConnectError, open_sync_driver
from socialgraph import devstack


def test_neo4j_is_real_526_community(neo: Any, settings: Settings) -> None:
    records, _, _ = neo.execute_query(
        "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"
    )
    row = records[0]
    assert row["name"] == "Neo4j Kernel"
    assert row["versions"][0].startswith("5.26.")
    assert row["edition"] == "community"


def test_neo4j_sends_no_bolt_keep_alive(neo: Any) -> None:
    """Without server keep-alive the server sends no `connection.recv_timeout_seconds` hint,
    so the async driver reads without a per-read timeout task (about 110 us a record; the
    API bounds every call itself, see graph/db.py and docs/benchmarks.md)."""
    records, _, _ = neo.execute_query(
        "SHOW SETTINGS YIELD name, value "
        "WHERE name = 'server.bolt.connection_keep_alive_for_requests' RETURN value"
    )
    assert [r["value"] for r in records] == ["OFF"]


def test_neo4j_auth_is_on(settings: Settings) -> None:
    wrong = settings.model_copy(update={"neo4j_password": "definitely-wrong"})
    with pytest.raises(Neo4jConnectError, match="rejected user"):
        open_sync_driver(wrong)


def test_redis_has_aof(rds: redis.Redis) -> None:
    info = rds.info("persistence")
    assert info["aof_enabled"] == 1
    assert rds.config_get("appendfsync")["appendfsync"] == "everysec"


def test_up_is_idempotent(settings: Settings) -> None:
    pids = [st.pid for st in devstack.status(settings)]
    lines = devstack.up(settings)
    assert all("already running" in line for line in lines)
    assert [st.pid for st in devstack.status(settings)] == pids


def test_down_when_nothing_runs(tmp_path: Path) -> None:
    s = Settings(
        SOCIALGRAPH_STATE_DIR=tmp_path,
        NEO4J_URI="bolt://127.0.0.1:1",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert devstack.down(s) == ["Neo4j is not running", "Redis is not running"]


def test_port_taken_is_reported_by_name(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        s = Settings(SOCIALGRAPH_STATE_DIR=tmp_path, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        with pytest.raises(devstack.StackError, match=rf"Port {port} .*in use by pid \d+"):
            devstack.RedisServer(s).start()


def test_unreachable_neo4j_gives_a_sentence() -> None:
    s = Settings(NEO4J_URI="bolt://127.0.0.1:1")
    with pytest.raises(Neo4jConnectError, match="socialgraph dev up"):
        open_sync_driver(s)


def test_production_refuses_placeholder_secret() -> None:
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(SOCIALGRAPH_ENV="production")
