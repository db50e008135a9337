"""What the seeds tell their user (issue 13): an undecodable file is one line naming the
file, the line and the byte offset; the driver's deadlock retries are counted into the
report instead of printed; the write-path note says what actually happened."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seeds import bulk
from seeds.common import RETRY_LOGGER, SeedReport, counts_retries, retry_note
from seeds.edgelist import EdgeListError, detect_format, load_edgelist, read_edges
from seeds.synthetic import Spec, seed_synthetic
from socialgraph.cli import app

# Latin-1 text in a comment: `é` is byte e9, which is never valid UTF-8 on its own.
LATIN1 = "1 2\n2 3\n# caf\u00e9 cr\u00e8me\n3 4\n".encode("latin-1")


def test_an_undecodable_edge_list_names_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "cafe.txt"
    path.write_bytes(LATIN1)
    with pytest.raises(EdgeListError) as caught:
        read_edges(path, detect_format(path))
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert "line 3 (byte offset 13)" in message  # "1 2\n2 3\n# caf" is 13 bytes
    assert "bytes e9" in message
    assert "--encoding" in message and "UTF-8" in message
    assert len(read_edges(path, detect_format(path, encoding="latin-1"), "latin-1")) == 3


def test_cli_undecodable_file_is_one_line_then_loads_with_encoding(
    neo: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cafe.txt"
    path.write_bytes(LATIN1)
    runner = CliRunner()
    result = runner.invoke(app, ["seed", "edgelist", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "cafe.txt: line 3 (byte offset 13)" in lines[0]

    result = runner.invoke(
        app, ["seed", "edgelist", str(path), "--encoding", "latin-1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["seed", "edgelist", str(path), "--encoding", "nope"])
    assert result.exit_code == 2 and "unknown encoding 'nope'" in result.output


def deadlock(neo: Any) -> None:
    """Two write transactions lock two nodes in opposite orders, both holding their first
    lock when they ask for the second: Neo4j makes one of them the victim
    (DeadlockDetected, a transient error) and the driver retries it, as it does for two
    seed writers that meet on the same users."""
    neo.execute_query("CREATE (:Dl {k: 'a'}), (:Dl {k: 'b'})")
    barrier = threading.Barrier(2)

    def write(first: str, second: str) -> None:
        attempts = 0

        def work(tx: Any) -> None:
            nonlocal attempts
            attempts += 1
            tx.run("MATCH (n:Dl {k: $k}) SET n.v = 1", k=first).consume()
            if attempts == 1:
                barrier.wait(timeout=30)
            tx.run("MATCH (n:Dl {k: $k}) SET n.v = 2", k=second).consume()

        with neo.session(database="neo4j") as session:
            session.execute_write(work)

    threads = [threading.Thread(target=write, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_deadlock_retries_are_counted_into_the_report_not_logged(
    neo: Any, caplog: pytest.LogCaptureFixture
) -> None:
    @counts_retries
    def seed() -> SeedReport:  # as the seed functions are wrapped
        deadlock(neo)
        return SeedReport("two writers")

    caplog.set_level(logging.WARNING)
    report = seed()
    assert report.retries == {"DeadlockDetected": 1}
    assert report.notes == [
        "Retried 1 transient deadlock (concurrent writers; the driver retried each "
        "transaction and the idempotent queries lost nothing)."
    ]
    assert not [r for r in caplog.records if "retried" in r.getMessage()], caplog.text
    # The filter is gone afterwards, and never hid anything but retries.
    assert logging.getLogger(RETRY_LOGGER).filters == []


def test_retry_filter_passes_other_driver_warnings(caplog: pytest.LogCaptureFixture) -> None:
    @counts_retries
    def seed() -> SeedReport:
        logging.getLogger(RETRY_LOGGER).warning("something else")
        return SeedReport("quiet")

    report = seed()
    assert report.retries == {} and report.notes == []
    assert "something else" in caplog.text
    assert retry_note({"DeadlockDetected": 3, "ServiceUnavailable": 1}) == (
        "Retried 3 transient deadlocks, 1 ServiceUnavailable (concurrent writers; the "
        "driver retried each transaction and the idempotent queries lost nothing)."
    )


def test_write_path_notes_say_what_happened(neo: Any, tmp_path: Path) -> None:
    path = tmp_path / "tri.txt"
    path.write_text("1 2\n2 3\n3 1\n")
    first = load_edgelist(neo, path, source="tri", show_progress=False)
    assert "CREATE fast path: the graph was empty." in first.notes

    # A first load into a graph that already holds something is not a re-run.
    spec = Spec(users=50, avg_degree=4, seed=5, posts_per_user=0)
    report = seed_synthetic(neo, spec, batch_size=64, writers=1, show_progress=False)
    note = next(n for n in report.notes if n.startswith("MERGE path"))
    added = report.new["friendships"]
    assert note == (
        "MERGE path: the graph already held 3 users, 3 friendships; "
        f"this seed added 50 users, {added:,} friendships."
    )
    assert "re-run" not in " ".join(report.notes)

    again = seed_synthetic(neo, spec, batch_size=64, writers=1, show_progress=False)
    assert (
        f"MERGE path: the graph already held 53 users, {added + 3:,} friendships; "
        "nothing was new (a re-run)."
    ) in again.notes

    bulk.users(neo, [{"id": "solo", "handle": "solo_user"}])
    again = load_edgelist(neo, path, source="tri", show_progress=False)
    assert "nothing was new (a re-run)" in again.notes[-1]
