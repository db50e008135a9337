"""Neo4j routing (docs/routing.md): the API, the CLI and the seeds over a `neo4j://` URI;
reads in READ transactions (which Neo4j 5 refuses to write in), writes in WRITE ones; and
read-your-own-writes across API processes through each user's bookmarks in Redis.

On one server a read sees every committed write anyway, so the cross-process tests look
at the mechanism itself: the bookmark stored after a write through process A is the
database's, process B's read starts from it (B's `sg_neo4j_bookmarked_reads_total`), and a
read carrying a bookmark of a transaction not committed yet waits until it is.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
from prometheus_client import REGISTRY

from api.main import create_app
from core.config import Settings
from core.errors import QueryRejected
from graph.db import Graph, Tx, open_async_driver
from redislayer import rkeys
from redislayer.bookmarks import BookmarkStore
from redislayer.connection import SyncRedis, open_redis
from seeds import bulk
from tests import redisstack
from tests.apiproc import ApiProcess
from tests.factories import U, api_user, graph_users

BIN = Path(sys.executable).parent


def routing_uri(settings: Settings) -> str:
    return f"neo4j://{settings.neo4j_host}:{settings.neo4j_port}"


@pytest.fixture(scope="module")
def routed(settings: Settings) -> Settings:
    return settings.model_copy(update={"neo4j_uri": routing_uri(settings)})


@pytest.fixture(scope="module")
async def rapp(routed: Settings) -> AsyncIterator[Any]:
    application = create_app(routed)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def rclient(rapp: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=rapp)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def rgraph(routed: Settings) -> AsyncIterator[Graph]:
    driver = await open_async_driver(routed)
    yield Graph(driver, routed.neo4j_database, routed.neo4j_query_timeout)
    await driver.close()


def misrouted() -> float:
    """All `sg_neo4j_misrouted_reads_total` samples of this process, summed."""
    return sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "sg_neo4j_misrouted_reads"
        for s in m.samples
        if s.name.endswith("_total")
    )


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.text}"
    return r.json() if r.content else None


# ------------------------------------------------------------------ routing URI, access modes


async def test_the_api_runs_over_a_routing_uri(
    rapp: Any, rclient: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """Register, befriend, post, like, comment, then every kind of read, all through
    `neo4j://`: the routing driver fetched a routing table from the server, each read ran
    in a READ transaction (a write there is refused, as the next test shows) and no WRITE
    transaction carried only reads."""
    assert isinstance(rapp.state.graph.driver, neo4j.AsyncNeo4jDriver)  # the routing driver
    before = misrouted()
    c = rclient
    a, b, c3 = [await api_user(c, h) for h in ("ann", "bob", "cat")]
    for x, y in ((a, b), (b, c3)):
        ok(await c.post("/v1/friend-requests", json={"user_id": y.id}, headers=x.headers), 201)
        ok(await c.post(f"/v1/friend-requests/{x.id}/accept", headers=y.headers), 204)
    post = ok(await c.post("/v1/posts", json={"text": "hello"}, headers=b.headers), 201)
    ok(await c.put(f"/v1/posts/{post['id']}/like", headers=a.headers))
    ok(
        await c.post(f"/v1/posts/{post['id']}/comments", json={"text": "hi"}, headers=a.headers),
        201,
    )
    feed = ok(await c.get("/v1/feed", headers=a.headers))
    assert [i["post"]["id"] for i in feed["items"]] == [post["id"]]
    sugg = ok(await c.get("/v1/suggestions", headers=a.headers))
    assert [s["user"]["id"] for s in sugg["items"]] == [c3.id]
    for path in (
        "/v1/users/me",
        f"/v1/users/{b.id}",
        f"/v1/users/{b.id}/friends",
        f"/v1/users/{c3.id}/mutual-friends",
        f"/v1/users/{b.id}/posts",
        f"/v1/posts/{post['id']}",
        f"/v1/posts/{post['id']}/comments",
        "/v1/friend-requests/incoming",
        "/v1/blocks",
        "/v1/users?prefix=b&limit=5",
    ):
        ok(await c.get(path, headers=a.headers))
    (an,) = graph_users(neo, settings, 1, prefix="analyst")
    neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=an.id)
    rows = ok(await c.post("/v1/analytics/queries/most_connected", json={}, headers=an.headers))
    assert rows["rows"][0]["id"] == b.id and rows["rows"][0]["degree"] == 2
    adhoc = {"query": "MATCH (u:User) RETURN count(u) AS n"}
    assert ok(await c.post("/v1/analytics/cypher", json=adhoc, headers=an.headers))["rows"] == [
        {"n": 4}
    ]
    assert misrouted() == before, "a read path ran in a WRITE transaction (see the log)"


async def test_neo4j_refuses_a_write_in_a_read_transaction(
    rgraph: Graph, neo: Any, settings: Settings
) -> None:
    """What makes the route test above a proof: over the routing URI, a catalog write run
    as a read is refused by the server (even a single Community server), nothing written."""
    (u,) = graph_users(neo, settings, 1)
    with pytest.raises(QueryRejected) as err:
        await rgraph.read("posts.create", me=u.id, id="p-ro", text="never")
    assert err.value.details["neo4j_code"] == "Neo.ClientError.Statement.AccessMode"
    recs, _, _ = neo.execute_query("MATCH (p:Post) RETURN count(p) AS n")
    assert recs[0]["n"] == 0


async def test_a_write_transaction_that_only_reads_is_counted(
    rgraph: Graph, neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1)

    async def only_reads(tx: Tx) -> Any:
        return await tx.one("users.me", id=u.id)

    before = misrouted()
    assert await rgraph.write_tx(only_reads) is not None
    assert misrouted() == before + 1
    await rgraph.write_one("posts.create", me=u.id, id="p-1", text="a write")
    assert misrouted() == before + 1  # a real write is not counted


# ------------------------------------------------------------------ CLI and seeds


def cli(settings: Settings, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "NEO4J_URI": routing_uri(settings)}
    done = subprocess.run(
        [str(BIN / "socialgraph"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"socialgraph {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def test_cli_and_seeds_run_over_a_routing_uri(settings: Settings, neo: Any, tmp_path: Path) -> None:
    cli(settings, "seed", "synthetic", "--users", "40", "--avg-degree", "4", "--no-progress")
    cli(settings, "user", "create", "zed", "--password-stdin", stdin="correct horse battery\n")
    cli(settings, "grant-role", "zed", "analyst")
    top = json.loads(cli(settings, "query", "most_connected", "-f", "json"))[0]
    recs, _, _ = neo.execute_query("MATCH (u:User) RETURN max(COUNT { (u)-[:FRIENDS]-() }) AS d")
    assert top["degree"] == recs[0]["d"] > 0
    out = tmp_path / "g.edgelist"
    cli(settings, "export", "-f", "edgelist", "-o", str(out), "--no-progress")
    recs, _, _ = neo.execute_query("MATCH (:User)-[r:FRIENDS]->(:User) RETURN count(r) AS n")
    assert len(out.read_text().splitlines()) == recs[0]["n"] > 0
    recs, _, _ = neo.execute_query("MATCH (u:User {handle: 'zed'}) RETURN u.roles AS roles")
    assert recs[0]["roles"] == ["analyst"]


# ------------------------------------------------------------------ read-your-writes


@pytest.fixture(scope="module")
def two_apis(settings: Settings) -> Iterator[tuple[ApiProcess, ApiProcess]]:
    uri = routing_uri(settings)
    with ApiProcess(settings, NEO4J_URI=uri) as a, ApiProcess(settings, NEO4J_URI=uri) as b:
        yield a, b


def latest_bookmark(neo: Any) -> set[str]:
    """The database's newest bookmark, as a fresh session sees it (nothing else writes to
    the test stack meanwhile)."""
    with neo.session(database="neo4j", default_access_mode=neo4j.READ_ACCESS) as s:
        s.execute_read(lambda tx: tx.run("RETURN 1").consume())
        return set(s.last_bookmarks().raw_values)


def stored(rds: SyncRedis, user: U) -> set[str]:
    raw = rds.get(rkeys.neo4j_bookmarks(user.id))
    return set(str(raw).split()) if raw else set()


def test_read_your_writes_across_api_processes(
    two_apis: tuple[ApiProcess, ApiProcess], neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    a, b = two_apis
    (me,) = graph_users(neo, settings, 1)
    assert stored(rds, me) == set()
    r = httpx.post(f"{a.url}/v1/posts", json={"text": "mine"}, headers=me.headers, timeout=10)
    assert r.status_code == 201, r.text
    post_id = r.json()["id"]
    # A kept the bookmark of its commit, with the TTL of NEO4J_BOOKMARK_TTL.
    assert stored(rds, me) == latest_bookmark(neo) != set()
    ttl_ms = rds.pttl(rkeys.neo4j_bookmarks(me.id))
    assert 0 < int(ttl_ms) <= settings.neo4j_bookmark_ttl * 1000
    carried = b.metric("sg_neo4j_bookmarked_reads_total")
    r = httpx.get(f"{b.url}/v1/users/{me.id}/posts", headers=me.headers, timeout=10)
    assert r.status_code == 200 and [p["id"] for p in r.json()["items"]] == [post_id]
    # B's reads for this user (its principal, the list) started from A's bookmark.
    assert b.metric("sg_neo4j_bookmarked_reads_total") >= carried + 1
    # With no write of anyone within the TTL (both entries gone) B carries nothing.
    (other,) = graph_users(neo, settings, 1, prefix="o")
    rds.delete(rkeys.neo4j_newest_write())
    carried = b.metric("sg_neo4j_bookmarked_reads_total")
    assert httpx.get(f"{b.url}/v1/users/me", headers=other.headers, timeout=10).status_code == 200
    assert b.metric("sg_neo4j_bookmarked_reads_total") == carried


def bookmark_ahead(bookmark: str) -> str:
    """The bookmark of the database's next transaction, made from the current one.

    Neo4j 5's format (`FB:` + base64 of PackStream): a list of one internal-graph entry,
    `[bytes16 database uuid][int transaction id]`, then an empty list of external graphs.
    Only this test forges one: a read that carries it waits for that transaction."""
    raw = base64.b64decode(bookmark.removeprefix("FB:"))
    assert raw[:3] == b"\x91\xcc\x10" and raw[-1:] == b"\x90", raw.hex()
    tx_id, size = _unpack_int(raw[19:-1])
    assert size == len(raw) - 20
    return "FB:" + base64.b64encode(raw[:19] + _pack_int(tx_id + 1) + b"\x90").decode()


_INT_MARKERS = {0xC8: (1, "b"), 0xC9: (2, "h"), 0xCA: (4, "i"), 0xCB: (8, "q")}


def _unpack_int(data: bytes) -> tuple[int, int]:
    marker = data[0]
    if marker < 0x80 or marker >= 0xF0:  # tiny int
        return int.from_bytes(data[:1], "big", signed=True), 1
    n, _ = _INT_MARKERS[marker]
    return int.from_bytes(data[1 : 1 + n], "big", signed=True), 1 + n


def _pack_int(value: int) -> bytes:
    if -16 <= value < 128:
        return value.to_bytes(1, "big", signed=True)
    for marker, (n, _) in _INT_MARKERS.items():
        if -(2 ** (8 * n - 1)) <= value < 2 ** (8 * n - 1):
            return bytes([marker]) + value.to_bytes(n, "big", signed=True)
    raise ValueError(value)


def test_a_read_waits_for_the_write_its_bookmark_names(
    two_apis: tuple[ApiProcess, ApiProcess], neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    """The stored bookmark names a transaction not committed yet (as a lagging secondary
    would see a write just committed on the leader): B's read waits for it, then answers."""
    _, b = two_apis
    (me,) = graph_users(neo, settings, 1)
    probe = "MERGE (p:RoutingProbe) SET p.n = coalesce(p.n, 0) + 1"
    neo.execute_query(probe)  # its label and property exist from here: one transaction next
    (now,) = latest_bookmark(neo)
    rds.set(rkeys.neo4j_bookmarks(me.id), bookmark_ahead(now), px=60_000)
    answered: list[float] = []
    status: list[int] = []

    def read() -> None:
        r = httpx.get(f"{b.url}/v1/users/me", headers=me.headers, timeout=30)
        answered.append(time.monotonic())
        status.append(r.status_code)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1.5)
    assert not answered, "the read did not wait for the transaction its bookmark names"
    neo.execute_query(probe)  # the next transaction: the one awaited
    committed = time.monotonic()
    reader.join(timeout=30)
    assert status == [200] and answered[0] >= committed
    assert latest_bookmark(neo) == {bookmark_ahead(now)}  # the format was read right


# ------------------------------------------------------------------ the newest write, for everyone


def newest(rds: SyncRedis) -> tuple[str, set[str]]:
    """The newest-write entry: (its `<uuid>:<tx>` position, its bookmarks)."""
    raw = rds.get(rkeys.neo4j_newest_write())
    if not raw:
        return "", set()
    position, *bookmarks = str(raw).split()
    return position, set(bookmarks)


def position_of(bookmark: str) -> str:
    """`<database uuid hex>:<transaction id>`, read the test's own way (`bookmark_ahead`)."""
    raw = base64.b64decode(bookmark.removeprefix("FB:"))
    tx_id, _ = _unpack_int(raw[19:-1])
    return f"{raw[3:19].hex()}:{tx_id}"


def test_another_users_reads_start_from_the_newest_write(
    two_apis: tuple[ApiProcess, ApiProcess], neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    """U posts through A; V, U's friend, who wrote nothing, reads the feed that post
    changed through B: the feed's cache miss starts from U's commit (the newest write),
    so on a cluster it cannot fill the cache from a secondary behind U's post. Requests
    with no user yet take part too (registration on A, login on B); a readiness check
    (`/readyz`) not: it must not wait for a secondary."""
    a, b = two_apis
    me, friend = graph_users(neo, settings, 2)
    bulk.friendships(neo, [{"a": me.id, "b": friend.id, "since": None}])
    # V's principal is cached first: the feed read below is then the only Neo4j read.
    assert httpx.get(f"{b.url}/v1/feed", headers=friend.headers, timeout=10).status_code == 200
    r = httpx.post(f"{a.url}/v1/posts", json={"text": "news"}, headers=me.headers, timeout=10)
    assert r.status_code == 201, r.text
    post_id = r.json()["id"]
    (mark,) = latest_bookmark(neo)
    assert newest(rds) == (position_of(mark), {mark})
    assert 0 < int(rds.pttl(rkeys.neo4j_newest_write())) <= settings.neo4j_bookmark_ttl * 1000
    assert stored(rds, friend) == set()  # nothing of V's own to carry
    carried = b.metric("sg_neo4j_bookmarked_reads_total")
    r = httpx.get(f"{b.url}/v1/feed", headers=friend.headers, timeout=10)
    assert r.status_code == 200 and [i["post"]["id"] for i in r.json()["items"]] == [post_id]
    assert b.metric("sg_neo4j_bookmarked_reads_total") >= carried + 1
    # No user yet: a registration's commit becomes the newest write; a login elsewhere
    # (a read by handle) starts from it.
    account = {"handle": "newcomer", "password": "correct horse battery"}
    assert httpx.post(f"{a.url}/v1/users", json=account, timeout=10).status_code == 201
    (mark,) = latest_bookmark(neo)
    assert newest(rds) == (position_of(mark), {mark})
    carried = b.metric("sg_neo4j_bookmarked_reads_total")
    login = {"username": "newcomer", "password": "correct horse battery"}
    assert httpx.post(f"{b.url}/v1/auth/token", data=login, timeout=10).status_code == 200
    assert b.metric("sg_neo4j_bookmarked_reads_total") >= carried + 1
    carried = b.metric("sg_neo4j_bookmarked_reads_total")
    assert httpx.get(f"{b.url}/readyz", timeout=10).status_code == 200
    assert b.metric("sg_neo4j_bookmarked_reads_total") == carried


def test_a_cache_miss_waits_for_the_newest_write(
    two_apis: tuple[ApiProcess, ApiProcess], neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    """As B's secondary would see it while lagging: the newest write (U's profile edit,
    committed on the leader) is a transaction this server has not applied yet. V's read
    of U's profile through B, a cache miss, waits for it, then answers and caches the
    edit, never the state before it (which the cache would serve to the next reader)."""
    _, b = two_apis
    me, viewer = graph_users(neo, settings, 2)
    edit = "MATCH (u:User {id: $id}) SET u.display_name = $name"
    neo.execute_query(edit, id=me.id, name="before")  # the property key exists from here
    (now,) = latest_bookmark(neo)
    ahead = bookmark_ahead(now)
    rds.set(rkeys.neo4j_newest_write(), f"{position_of(ahead)} {ahead}", px=60_000)
    answered: list[float] = []
    names: list[str] = []

    def read() -> None:
        r = httpx.get(f"{b.url}/v1/users/{me.id}", headers=viewer.headers, timeout=30)
        answered.append(time.monotonic())
        names.append(r.json()["display_name"] if r.status_code == 200 else r.text)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1.5)
    assert not answered, f"V's read did not wait for the newest write: {names}"
    neo.execute_query(edit, id=me.id, name="after")  # the next transaction: the one awaited
    committed = time.monotonic()
    reader.join(timeout=30)
    assert names == ["after"] and answered[0] >= committed
    assert latest_bookmark(neo) == {ahead}  # the format was read right
    # What the miss stored is what the next reader is served.
    r = httpx.get(f"{b.url}/v1/users/{me.id}", headers=viewer.headers, timeout=10)
    assert r.status_code == 200 and r.json()["display_name"] == "after"


async def test_the_newest_write_never_goes_backwards(
    neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    """Writers store their bookmarks in any order (two processes racing): the entry keeps
    the latest transaction. A recreated database (another uuid) or a format the store
    cannot parse replaces it."""
    marks: list[str] = []
    for i in range(4):
        neo.execute_query("MERGE (p:RoutingProbe) SET p.n = $i", i=i)
        marks.extend(latest_bookmark(neo))
    client = open_redis(settings)
    store = BookmarkStore(client, settings.neo4j_bookmark_ttl)
    try:
        for mark in reversed(marks):  # the newest arrives first, the older ones after it
            await store.put(None, [mark])
        assert newest(rds) == (position_of(marks[-1]), {marks[-1]})
        await store.put("u1", [marks[0]])  # a late older write of u1: its own entry only
        assert newest(rds)[1] == {marks[-1]} and rds.get(rkeys.neo4j_bookmarks("u1"))
        # What a read of u1 starts from, in one round trip: u1's write and the newest.
        assert await store.get("u1") == ([marks[0]], [marks[-1]])
        assert await store.get(None) == ([], [marks[-1]])
        # Another database's transaction 1 (uuid changed: a recreated database).
        raw = base64.b64decode(marks[0].removeprefix("FB:"))
        other = "FB:" + base64.b64encode(raw[:3] + bytes(16) + _pack_int(1) + b"\x90").decode()
        await store.put(None, [other])
        assert newest(rds) == (position_of(other), {other})
        await store.put(None, ["XB:opaque"])  # unparsable: last writer wins
        assert newest(rds)[1] == {"XB:opaque"}
        await store.put(None, [marks[1]])
        assert newest(rds) == (position_of(marks[1]), {marks[1]})
    finally:
        await client.aclose()


def test_a_redis_error_on_the_fetch_still_answers(
    two_apis: tuple[ApiProcess, ApiProcess], neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    """The newest-write entry cannot be read (a Redis error inside the fetch's pipeline):
    the read answers, starting from what the fetch did get (the user's own write), and
    the skip is counted. (Redis stopped altogether: the best-effort test above.)"""
    a, b = two_apis
    (me,) = graph_users(neo, settings, 1)
    r = httpx.post(f"{a.url}/v1/posts", json={"text": "x"}, headers=me.headers, timeout=10)
    assert r.status_code == 201, r.text
    rds.delete(rkeys.neo4j_newest_write())
    rds.hset(rkeys.neo4j_newest_write(), "not", "a string")  # GET fails: WRONGTYPE
    name = "sg_neo4j_bookmarks_skipped_total"
    skipped = b.metric(name, 0.0, op="get")
    carried = b.metric("sg_neo4j_bookmarked_reads_total")
    r = httpx.get(f"{b.url}/v1/users/{me.id}/posts", headers=me.headers, timeout=10)
    assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
    assert b.metric(name, 0.0, op="get") >= skipped + 1
    assert b.metric("sg_neo4j_bookmarked_reads_total") >= carried + 1  # U's own bookmark


def test_bookmarks_are_best_effort_when_redis_is_down(
    two_apis: tuple[ApiProcess, ApiProcess], neo: Any, settings: Settings
) -> None:
    """Without Redis nothing fails: reads start without a bookmark, a write's is not kept
    (counted); only the cross-process guarantee is gone meanwhile."""
    a, b = two_apis
    (me,) = graph_users(neo, settings, 1)
    server = redisstack.server(settings)  # on a cluster: every node
    server.stop()
    try:
        name = "sg_neo4j_bookmarks_skipped_total"
        kept, read = a.metric(name, 0.0, op="put"), b.metric(name, 0.0, op="get")
        r = httpx.post(f"{a.url}/v1/posts", json={"text": "x"}, headers=me.headers, timeout=10)
        assert r.status_code == 201, r.text
        assert a.metric(name, 0.0, op="put") == kept + 1  # the write's bookmark is lost
        r = httpx.get(f"{b.url}/v1/users/{me.id}/posts", headers=me.headers, timeout=10)
        assert r.status_code == 200 and len(r.json()["items"]) == 1
        assert b.metric(name, 0.0, op="get") > read  # B's reads started without one
    finally:
        server.start()


async def test_a_bookmark_neo4j_cannot_parse_is_dropped(
    rclient: httpx.AsyncClient, neo: Any, rds: SyncRedis, settings: Settings
) -> None:
    (me,) = graph_users(neo, settings, 1)
    rds.set(rkeys.neo4j_bookmarks(me.id), "FB:not-a-bookmark", px=60_000)
    ok(await rclient.get("/v1/users/me", headers=me.headers))
