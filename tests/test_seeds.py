"""Seeds write what they promise: the demo is idempotent and can log in, synthetic graphs
are exactly the generator's, edge lists load exactly their edges, LDBC counts match the
CSV files. Every test starts from an empty graph (conftest)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from typer.testing import CliRunner

from api.security import verify_password
from core.passwords import StoredPassword
from seeds import bulk
from seeds.common import graph_counts
from seeds.demo import ANALYST, DEMO_PASSWORD, PENDING_REQUESTS, PEOPLE, seed_demo
from seeds.edgelist import (
    DATASETS,
    EdgeListFormat,
    detect_format,
    load_edgelist,
    user_by_source_id,
)
from seeds.generators import holme_kim_edges, planted_partition
from seeds.ldbc import DEFAULT_DIR, find_dynamic_dir, load_ldbc
from seeds.synthetic import Spec, generate_edges, seed_synthetic, user_id
from socialgraph.cli import app

HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{3,30}$")


def one(neo: Any, cypher: str, **params: Any) -> Any:
    records, _, _ = neo.execute_query(cypher, params)
    return records[0][0]


def friend_pairs(neo: Any, source: str | None = None) -> set[frozenset[str]]:
    records, _, _ = neo.execute_query(
        "MATCH (a:User)-[:FRIENDS]->(b:User) WHERE $source IS NULL OR a.source = $source "
        "RETURN a.id AS a, b.id AS b",
        {"source": source},
    )
    return {frozenset((r["a"], r["b"])) for r in records}


def assert_model_invariants(neo: Any) -> None:
    """docs/model.md: friendships stored once, smaller id first, pair = a|b; counts exact."""
    assert (
        one(
            neo,
            "MATCH (a)-[f:FRIENDS]->(b) WHERE NOT (a.id < b.id AND "
            "f.pair = a.id + '|' + b.id) RETURN count(f)",
        )
        == 0
    )
    assert (
        one(
            neo,
            "MATCH (p:Post) WHERE p.like_count <> COUNT { (p)<-[:LIKED]-() } "
            "OR p.comment_count <> COUNT { (p)<-[:ON]-(:Comment) } "
            "RETURN count(p)",
        )
        == 0
    )
    assert (
        one(
            neo,
            "MATCH (u:User) WHERE NOT u.handle =~ '[A-Za-z0-9_]{3,30}' "
            "OR u.handle_lower <> toLower(u.handle) RETURN count(u)",
        )
        == 0
    )


def interacts(neo: Any) -> dict[tuple[str, str], int]:
    records, _, _ = neo.execute_query(
        "MATCH (a)-[i:INTERACTS]->(b) RETURN a.id AS a, b.id AS b, i.weight AS w"
    )
    return {(r["a"], r["b"]): r["w"] for r in records}


# ------------------------------------------------------------------ demo


def test_demo_is_idempotent_and_users_can_log_in(neo: Any) -> None:
    first = seed_demo(neo, show_progress=False)
    counts = graph_counts(neo)
    affinity = interacts(neo)
    second = seed_demo(neo, show_progress=False)
    assert graph_counts(neo) == counts
    assert interacts(neo) == affinity
    assert first.totals == second.totals == counts
    assert counts["users"] == len(PEOPLE) == 30
    assert counts["pending_requests"] == len(PENDING_REQUESTS)
    assert counts["friendships"] > 60 and counts["posts"] > 30
    assert counts["likes"] > 0 and counts["comments"] > 0
    # Affinity follows the API's rule: +1 per like of b's post, +2 per comment.
    records, _, _ = neo.execute_query(
        "MATCH (a:User)-[i:INTERACTS]->(b:User) "
        "RETURN i.weight = COUNT { (a)-[:LIKED]->(:Post)<-[:POSTED]-(b) } "
        "  + 2 * COUNT { (a)-[:COMMENTED]->(:Comment)-[:ON]->(:Post)<-[:POSTED]-(b) } AS ok"
    )
    assert records and all(r["ok"] for r in records)
    assert_model_invariants(neo)

    records, _, _ = neo.execute_query(
        "MATCH (u:User {source: 'demo'}) OPTIONAL MATCH (c:Credential {user_id: u.id}) "
        "RETURN u.handle AS handle, c.hash AS h, c.pepper_id AS pepper, u.roles AS roles"
    )
    hashes = {(r["h"], r["pepper"]) for r in records}
    assert len(hashes) == 1  # hashed once per run, shared
    (stored,) = (StoredPassword(*h) for h in hashes)
    assert stored.hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(stored, DEMO_PASSWORD)
    assert not verify_password(stored, "wrong-password-1")
    analysts = [r["handle"] for r in records if "analyst" in r["roles"]]
    assert analysts == [ANALYST]
    # Requests are pending, between non-friends, with the model's key.
    assert one(
        neo,
        "MATCH (a)-[r:REQUESTED]->(b) WHERE r.status = 'pending' "
        "AND r.key = a.id + '|' + b.id AND NOT (a)-[:FRIENDS]-(b) "
        "RETURN count(r)",
    ) == len(PENDING_REQUESTS)


# ------------------------------------------------------------------ synthetic


@pytest.mark.parametrize("n,m,seed", [(60, 3, 1), (500, 5, 2), (1500, 10, 3)])
def test_holme_kim_is_networkx_powerlaw_cluster_graph(n: int, m: int, seed: int) -> None:
    ours = holme_kim_edges(n, m, 0.3, seed)
    reference = nx.powerlaw_cluster_graph(n, m, 0.3, seed=seed)
    assert len(ours) == reference.number_of_edges()
    assert {frozenset(e) for e in ours} == {frozenset(e) for e in reference.edges}


def test_block_model_is_deterministic_and_near_the_asked_degree() -> None:
    blocks, edges = planted_partition(4000, 12.0, 8, 0.2, seed=5)
    assert planted_partition(4000, 12.0, 8, 0.2, seed=5) == (blocks, edges)
    assert planted_partition(4000, 12.0, 8, 0.2, seed=6)[1] != edges
    assert sum(blocks.sizes) == 4000 and len(blocks.sizes) == 8
    assert len({frozenset(e) for e in edges}) == len(edges)
    assert all(a != b for a, b in edges)
    avg = 2 * len(edges) / 4000
    assert 11.0 < avg < 13.0
    block_of = blocks.block_of()
    cross = sum(1 for a, b in edges if block_of[a] != block_of[b]) / len(edges)
    assert 0.15 < cross < 0.25


@pytest.mark.parametrize("model", ["powerlaw-cluster", "sbm"])
def test_synthetic_graph_is_the_generators_graph(neo: Any, model: Any) -> None:
    spec = Spec(users=400, avg_degree=8, model=model, seed=11, posts_per_user=1.5)
    edges = generate_edges(spec)
    assert generate_edges(spec) == edges  # same seed, same edges
    assert generate_edges(Spec(users=400, avg_degree=8, model=model, seed=12)) != edges
    expected = {frozenset((user_id(a), user_id(b))) for a, b in edges}

    report = seed_synthetic(neo, spec, batch_size=500, reset=True, show_progress=False)
    assert report.extra["create_path"] is True
    assert friend_pairs(neo) == expected
    assert report.written["friendships"] == len(edges) == report.totals["friendships"]
    assert report.totals["users"] == 400
    assert report.totals["posts"] > 0 and report.totals["likes"] > 0
    assert_model_invariants(neo)

    # Re-run on the same graph: the MERGE path, nothing changes.
    counts, affinity = graph_counts(neo), interacts(neo)
    again = seed_synthetic(neo, spec, batch_size=300, show_progress=False)
    assert again.extra["create_path"] is False
    assert graph_counts(neo) == counts
    assert interacts(neo) == affinity
    assert friend_pairs(neo) == expected


def test_synthetic_merge_path_on_a_non_empty_graph_equals_create_path(neo: Any) -> None:
    spec = Spec(users=200, avg_degree=6, seed=3, posts_per_user=0)
    bulk.users(neo, [{"id": "other", "handle": "other_user"}])
    report = seed_synthetic(neo, spec, batch_size=64, writers=1, show_progress=False)
    assert report.extra["create_path"] is False
    expected = {frozenset((user_id(a), user_id(b))) for a, b in generate_edges(spec)}
    assert friend_pairs(neo, "synthetic") == expected
    assert report.totals["users"] == 201


def test_packed_batches_refuse_separators() -> None:
    assert bulk.pack([("a", "b", 1), ("c", "d", 2)]) == "a\x1fb\x1f1\x1ec\x1fd\x1f2"
    with pytest.raises(ValueError, match="separator"):
        bulk.pack([("a\x1fx", "b", 1)])
    with pytest.raises(ValueError, match="separator"):
        bulk.pack([("a", "b\x1e", 1)])


# ------------------------------------------------------------------ edge lists


def test_detects_snap_and_csv_formats() -> None:
    assert detect_format(DATASETS["facebook"].path) == EdgeListFormat(None, False)
    assert detect_format(DATASETS["lastfm"].path) == EdgeListFormat(",", True)
    assert detect_format(DATASETS["deezer"].path) == EdgeListFormat(",", True)


def test_edgelist_slice_of_snap_facebook_loads_exactly_its_edges(neo: Any, tmp_path: Path) -> None:
    lines = DATASETS["facebook"].path.read_text().splitlines()[:3000]
    # A comment, a reversed duplicate and a self-loop, which must not add edges.
    extra = ["# comment line", "1 0", "7 7"]
    path = tmp_path / "fb_slice.txt"
    path.write_text("\n".join(lines + extra) + "\n")
    reference = nx.read_edgelist(path, nodetype=str)
    reference.remove_edges_from(list(nx.selfloop_edges(reference)))

    report = load_edgelist(neo, path, source="facebook", show_progress=False)
    expected = {frozenset((f"facebook-{a}", f"facebook-{b}")) for a, b in reference.edges}
    assert friend_pairs(neo) == expected
    assert report.totals["users"] == reference.number_of_nodes()
    assert report.extra["self_loops"] == 1 and report.extra["duplicates"] == 1
    user = user_by_source_id(neo, "facebook", "0")
    assert user is not None and user["id"] == "facebook-0" and user["source_id"] == "0"
    assert user_by_source_id(neo, "facebook", 107) is not None  # ints are looked up as text
    assert user_by_source_id(neo, "facebook", "999999") is None
    assert_model_invariants(neo)
    # Idempotent re-run (MERGE path).
    load_edgelist(neo, path, source="facebook", show_progress=False)
    assert friend_pairs(neo) == expected


def test_edgelist_csv_with_header_lastfm_slice(neo: Any, tmp_path: Path) -> None:
    lines = DATASETS["lastfm"].path.read_text().splitlines()[:1501]
    path = tmp_path / "lastfm_slice.csv"
    path.write_text("\n".join(lines) + "\n")
    reference = nx.parse_edgelist(lines[1:], delimiter=",", nodetype=str)
    load_edgelist(neo, path, source="lastfm", show_progress=False, batch_size=200)
    assert friend_pairs(neo) == {
        frozenset((f"lastfm-{a}", f"lastfm-{b}")) for a, b in reference.edges
    }
    node = lines[1].split(",")[1]
    user = user_by_source_id(neo, "lastfm", node)
    assert user is not None and user["id"] == f"lastfm-{node}"


def test_cli_edgelist_and_synthetic(neo: Any, tmp_path: Path) -> None:
    path = tmp_path / "Tiny Graph.tsv"
    path.write_text("a\tb\n1\t2\n2\t3\n3\t1\n")
    runner = CliRunner()
    result = runner.invoke(app, ["seed", "edgelist", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "friendships" in result.output
    assert friend_pairs(neo) == {
        frozenset(("tinygraph-1", "tinygraph-2")),
        frozenset(("tinygraph-2", "tinygraph-3")),
        frozenset(("tinygraph-1", "tinygraph-3")),
    }
    result = runner.invoke(
        app,
        [
            "seed",
            "synthetic",
            "--users",
            "50",
            "--avg-degree",
            "4",
            "--posts-per-user",
            "0",
            "--reset",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert graph_counts(neo)["users"] == 50
    result = runner.invoke(app, ["seed", "synthetic", "--users", "3", "--avg-degree", "8"])
    assert result.exit_code == 2 and "powerlaw-cluster needs" in result.output


# ------------------------------------------------------------------ LDBC


def _csv(name: str) -> list[list[str]]:
    path = find_dynamic_dir(DEFAULT_DIR) / f"{name}_0_0.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="|", quoting=csv.QUOTE_NONE))
    return [r for r in rows[1:] if r]


def test_ldbc_counts_match_the_csv_files(neo: Any) -> None:
    persons = _csv("person")
    knows = {frozenset(r[:2]) for r in _csv("person_knows_person") if r[0] != r[1]}
    posts = _csv("post")
    likes = {(r[0], r[1]) for r in _csv("person_likes_post")}
    comments = _csv("comment")

    report = load_ldbc(neo, DEFAULT_DIR)
    assert one(neo, "MATCH (u:User {source: 'ldbc'}) RETURN count(u)") == len(persons) == 222
    assert (
        one(
            neo,
            "MATCH (:User {source: 'ldbc'})-[f:FRIENDS]->(:User {source: 'ldbc'}) RETURN count(f)",
        )
        == len(knows)
        == 825
    )
    assert one(neo, "MATCH (p:Post {source: 'ldbc'}) RETURN count(p)") == len(posts) == 5924
    assert (
        one(neo, "MATCH (:User)-[l:LIKED]->(:Post {source: 'ldbc'}) RETURN count(l)")
        == len(likes)
        == 759
    )
    # Replies to comments are attached to their thread's post: every comment is there.
    assert one(neo, "MATCH (c:Comment {source: 'ldbc'}) RETURN count(c)") == len(comments)
    assert report.extra["skipped"] == {"posts": 0, "comments": 0, "likes": 0}
    assert_model_invariants(neo)

    # Spot checks: ids, since, created_at, text, source ids.
    a, b, created = _csv("person_knows_person")[0]
    since = one(
        neo,
        "MATCH (:User {id: $a})-[f:FRIENDS]-(:User {id: $b}) RETURN f.since.epochMillis",
        a=f"ldbc-{a}",
        b=f"ldbc-{b}",
    )
    assert since == int(created)
    first_post = posts[0]
    post = one(
        neo,
        "MATCH (u:User)-[:POSTED]->(p:Post {source: 'ldbc', source_id: $id}) "
        "RETURN p {.id, .text, ms: p.created_at.epochMillis, author: u.source_id}",
        id=first_post[0],
    )
    creator = dict((r[0], r[1]) for r in _csv("post_hasCreator_person"))
    assert post == {
        "id": f"ldbc-post-{first_post[0]}",
        "text": first_post[6] or first_post[1],
        "ms": int(first_post[2]),
        "author": creator[first_post[0]],
    }
    handles = one(neo, "MATCH (u:User {source: 'ldbc'}) RETURN collect(u.handle)")
    assert all(HANDLE_RE.match(h) for h in handles) and len(set(handles)) == 222


def test_ldbc_skip_replies_and_idempotent(neo: Any) -> None:
    direct = {r[0] for r in _csv("comment_replyOf_post")}
    load_ldbc(neo, DEFAULT_DIR / "vanilla", replies="skip")
    counts = graph_counts(neo)
    assert counts["comments"] == len(direct)
    load_ldbc(neo, DEFAULT_DIR / "vanilla" / "dynamic", replies="skip")
    assert graph_counts(neo) == counts
