"""The inbox on a real Redis Cluster (3 primaries, 3 replicas) of its own, durable sends on
and off: every step runs on one slot inside cluster pipelines, a node without the scripts
(a promoted replica has none) gets them, and with durable sends on a write is
acknowledged only once the replica of the primary that ran it has it (`WAIT` on the
connection that wrote, after a write barrier so that a retried send is covered too).

The cluster runs on ports 7320-7325 (buses 17320-17325) with its state under tmp_path, so
these tests need neither the test stack nor its Redis (see `clean` below)."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest

from core.config import Settings
from core.errors import Conflict
from redislayer import rkeys
from redislayer.connection import AsyncRedis, open_redis
from redislayer.inbox import Durability, Inbox, NotConfirmed
from socialgraph.devstack.process import port_open
from socialgraph.devstack.redis_cluster import RedisCluster

pytestmark = pytest.mark.integration

BASE_PORT = 7320
DURABLE = Durability(replicas=1, timeout_ms=250)


@pytest.fixture(autouse=True)
def clean() -> None:
    """Overrides conftest's `clean`: these tests use their own cluster only."""


@pytest.fixture(scope="module")
def cluster_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    s = Settings(
        SOCIALGRAPH_STATE_DIR=tmp_path_factory.mktemp("inbox-cluster") / "state",
        REDIS_URL="redis://127.0.0.1:7318/0",  # nothing listens: the cluster is the store
        NEO4J_URI="bolt://127.0.0.1:7319",
        REDIS_CLUSTER=True,
        REDIS_CLUSTER_PORT=BASE_PORT,
        REDIS_CLUSTER_NODE_TIMEOUT_MS=1000,
    )
    busy = [p for p in range(BASE_PORT, BASE_PORT + 6) if port_open("127.0.0.1", p)]
    if busy:
        pytest.fail(f"ports {busy} are in use before the test: a previous run left nodes?")
    cluster = RedisCluster(s)
    try:
        cluster.start(wait=60)
        yield s
    finally:
        cluster.stop()


@pytest.fixture
async def rc(cluster_settings: Settings) -> AsyncIterator[AsyncRedis]:
    client = open_redis(cluster_settings)
    await client.flushdb()  # every primary
    yield client
    await client.aclose()


def replica_pid(settings: Settings, port: int) -> int:
    """The pid of the replica of the primary on `port`."""
    import redis

    with redis.Redis(port=port, decode_responses=True, socket_timeout=2) as r:
        replica_port = int(r.info("replication")["slave0"]["port"])
    pid = RedisCluster(settings).node(replica_port).pid()
    assert pid is not None
    return pid


def users_apart_from_their_conversation(rc: AsyncRedis) -> tuple[str, str, int]:
    """Two users whose own slots are on other primaries than their conversation's, so that
    a retried send writes nothing at all on the conversation's primary; and its port."""

    def port(key: str) -> int:
        node = rc.get_node_from_key(key)  # type: ignore[union-attr]
        assert node is not None and node.port is not None
        return int(node.port)

    for i in range(1000):
        a, b = f"cat{i}", f"dan{i}"
        conv = port(rkeys.conv_stream(rkeys.conversation_id(a, b)))
        if conv not in (port(rkeys.user_convs(a)), port(rkeys.user_convs(b))):
            return a, b, conv
    raise AssertionError("no such pair among 1000")


@pytest.mark.parametrize("durable", [None, DURABLE], ids=["durable-off", "durable-on"])
async def test_every_inbox_step_runs_on_a_cluster(
    rc: AsyncRedis, durable: Durability | None
) -> None:
    inbox = Inbox(rc, durable)
    sent, created = await inbox.send("ann", "bob", "hello", "idem-0001")
    assert created
    again, created_again = await inbox.send("ann", "bob", "hello", "idem-0001")
    assert (again.id, created_again) == (sent.id, False)
    with pytest.raises(Conflict):
        await inbox.send("ann", "bob", "another text", "idem-0001")
    reply, _ = await inbox.send("bob", "ann", "hi ann", "idem-0002")
    msgs, _, _ = await inbox.history("ann", "bob", 10, None, None)
    assert [m.text for m in msgs] == ["hi ann", "hello"]
    [conv] = (await inbox.conversations("bob", 10, None))[0]
    assert (conv["with_user_id"], conv["unread"]) == ("ann", 1)
    assert await inbox.total_unread("ann") == 1
    assert await inbox.mark_read("ann", "bob", reply.id) == reply.id
    assert await inbox.total_unread("ann") == 0
    await inbox.hide("bob", "ann")
    assert (await inbox.conversations("bob", 10, None))[0] == []
    await inbox.unhide("bob", "ann")
    assert len((await inbox.conversations("bob", 10, None))[0]) == 1

    # A node without the scripts (as a promoted replica is: SCRIPT LOAD is not
    # replicated) gets them again inside a cluster pipeline.
    await rc.script_flush()  # every primary
    await inbox.send("ann", "bob", "after the flush", "idem-0003")

    stats = await inbox.erase_user("ann")
    assert stats == {"conversations": 1, "messages": 2, "conversations_removed": 0}
    msgs, _, _ = await inbox.history("bob", "ann", 10, None, None)
    assert [m.text for m in msgs] == ["hi ann"]


async def test_durable_send_waits_for_the_replica_of_the_primary_that_wrote(
    rc: AsyncRedis, cluster_settings: Settings
) -> None:
    cat, dan, node = users_apart_from_their_conversation(rc)
    held = replica_pid(cluster_settings, node)
    durable = Inbox(rc, DURABLE)
    # Another API process: its pooled connection to the conversation's primary last wrote
    # before the send below.
    other = open_redis(cluster_settings)
    try:
        await Inbox(other, DURABLE).send(cat, dan, "before", "idem-cat-0")
        os.kill(held, signal.SIGSTOP)  # the conversation's replica stops confirming
        try:
            with pytest.raises(NotConfirmed) as refused:
                await durable.send(cat, dan, "keep me", "idem-cat-1")
            assert refused.value.details["replicas_confirmed"] == 0
            # The retry lands on the other process, whose connection wrote nothing since
            # its own send, and the retry writes nothing on that primary (the message is
            # there): a bare WAIT would count the replica up to that older write and
            # acknowledge a message no replica has.
            with pytest.raises(NotConfirmed):
                await Inbox(other, DURABLE).send(cat, dan, "keep me", "idem-cat-1")
            # Durable sends off: acknowledged at once, replica or not.
            plain, _ = await Inbox(rc).send(cat, dan, "fast and loose", "idem-cat-2")
            assert plain.text == "fast and loose"
        finally:
            os.kill(held, signal.SIGCONT)
    finally:
        await other.aclose()
    message, created = await durable.send(cat, dan, "keep me", "idem-cat-1")
    assert (message.text, created) == ("keep me", False)  # the first try's message
    msgs, _, _ = await durable.history(dan, cat, 10, None, None)
    assert [m.text for m in msgs] == ["fast and loose", "keep me", "before"]
