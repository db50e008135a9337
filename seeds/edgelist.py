"""`socialgraph seed edgelist PATH` and `socialgraph seed dataset NAME`: real networks.

Reads undirected edge lists: SNAP style (`u v` per line, `#` comments, no header) and
CSV style (`node_1,node_2` header, as LastFM Asia and Deezer Europe). The delimiter and
a header row are detected from the first data line unless given. Each node becomes a
user with `source` = the data set's name, `source_id` = the node id as written in the
file, `id` = `<source>-<source_id>` and handle `<source>_<source_id>`. Self-loops are
skipped, duplicate and reversed rows are stored once; the report says how many.

The data sets stay in `../shared/data` (never copied into the repository); `DATASETS`
knows their paths.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neo4j import Driver

from core.config import default_data_dir
from graph.db import SyncGraph
from seeds import bulk
from seeds.common import (
    SeedReport,
    begin_seed,
    counts_retries,
    end_seed,
    epoch_ms,
    is_empty,
    undecodable,
    write_path_note,
)

DATA_DIR = default_data_dir()


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    title: str
    citation: str


DATASETS: dict[str, Dataset] = {
    "facebook": Dataset(
        "facebook",
        DATA_DIR / "snap-ego-facebook" / "facebook_combined.txt",
        "SNAP ego-Facebook (4,039 users, 88,234 friendships)",
        "J. McAuley and J. Leskovec, Learning to Discover Social Circles in Ego Networks, "
        "NIPS 2012",
    ),
    "lastfm": Dataset(
        "lastfm",
        DATA_DIR / "lastfm-asia" / "lastfm_asia_edges.csv",
        "LastFM Asia (7,624 users, 27,806 friendships)",
        "B. Rozemberczki and R. Sarkar, Characteristic Functions on Graphs, CIKM 2020",
    ),
    "deezer": Dataset(
        "deezer",
        DATA_DIR / "deezer-europe" / "deezer_europe_edges.csv",
        "Deezer Europe (28,281 users, 92,752 friendships)",
        "B. Rozemberczki and R. Sarkar, Characteristic Functions on Graphs, CIKM 2020",
    ),
}

SOURCE_RE = re.compile(r"^[a-z0-9]{1,20}$")
NODE_RE = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_COMMENT = ("#", "%")


class EdgeListError(ValueError):
    """The file cannot be read as an edge list; the message names the file and line."""


@dataclass(frozen=True)
class EdgeListFormat:
    delimiter: str | None  # None: any whitespace
    header: bool


def detect_format(
    path: Path, delimiter: str | None = None, encoding: str = "utf-8"
) -> EdgeListFormat:
    """From the first non-comment line: `,`, tab, `;` or whitespace; a header when its
    first two fields are not both node ids made of digits."""
    for line in _lines(path, encoding):
        if delimiter is None:
            delimiter = next((d for d in (",", "\t", ";") if d in line), None)
        fields = _split(line, delimiter)
        header = len(fields) < 2 or not (fields[0].isdigit() and fields[1].isdigit())
        return EdgeListFormat(delimiter, header)
    raise EdgeListError(f"{path}: no edges")


def _lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """Data lines; a byte sequence that is not `encoding` is an `EdgeListError` naming
    the line and byte offset, not a traceback."""
    try:
        with path.open(encoding=encoding) as fh:
            for raw in fh:
                line = raw.strip()
                if line and not line.startswith(_COMMENT):
                    yield line
    except UnicodeDecodeError:
        hint = (
            "convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or name its "
            "encoding with --encoding (e.g. --encoding latin-1)"
        )
        raise EdgeListError(undecodable(path, encoding, hint)) from None


def _split(line: str, delimiter: str | None) -> list[str]:
    return [f.strip() for f in line.split(delimiter)]


def read_edges(path: Path, fmt: EdgeListFormat, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """The rows as written (node ids as text), header and comments dropped."""
    edges = []
    for n, line in enumerate(_lines(path, encoding), start=1):
        if n == 1 and fmt.header:
            continue
        fields = _split(line, fmt.delimiter)
        if len(fields) < 2 or not NODE_RE.match(fields[0]) or not NODE_RE.match(fields[1]):
            raise EdgeListError(
                f"{path}: data line {n} is not `u{fmt.delimiter or ' '}v`: {line[:80]!r}"
            )
        edges.append((fields[0], fields[1]))
    return edges


def user_id(source: str, source_id: str) -> str:
    return f"{source}-{source_id}"


@counts_retries
def load_edgelist(
    driver: Driver,
    path: Path | str,
    *,
    source: str,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    database: str = "neo4j",
    batch_size: int = 10_000,
    writers: int = 2,
    reset: bool = False,
    show_progress: bool = True,
) -> SeedReport:
    """Load an edge list as users and friendships (idempotent; CREATE when the graph is
    empty; `writers` concurrent sessions). `encoding` is the file's text encoding
    (UTF-8 unless told). `report.extra` has the file's own counts."""
    path = Path(path)
    if not SOURCE_RE.match(source):
        raise EdgeListError(f"source name must be 1-20 lower-case letters or digits: {source!r}")
    if not path.is_file():
        raise EdgeListError(f"{path}: no such file")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise EdgeListError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1)") from None
    report = SeedReport(f"socialgraph seed edgelist: {path.name} as source {source!r}")
    with report.step("read file"):
        fmt = detect_format(path, delimiter, encoding)
        raw = read_edges(path, fmt, encoding)
    pairs: set[tuple[str, str]] = set()
    nodes: dict[str, None] = {}
    self_loops = 0
    for a, b in raw:
        nodes.setdefault(a)
        nodes.setdefault(b)
        if a == b:
            self_loops += 1
            continue
        ia, ib = user_id(source, a), user_id(source, b)
        pairs.add((ia, ib) if ia < ib else (ib, ia))
    for node in nodes:
        handle = f"{source}_{node}"
        if len(handle) > 30:
            raise EdgeListError(f"{path}: node id {node!r} is too long for a handle")
    report.extra.update(
        rows=len(raw),
        nodes=len(nodes),
        edges=len(pairs),
        self_loops=self_loops,
        duplicates=len(raw) - self_loops - len(pairs),
        format=fmt,
    )

    begin_seed(report, driver, database, reset)
    create = not any(report.before.values()) and is_empty(driver, database)
    now = epoch_ms(datetime.now(UTC))
    title = source.capitalize()
    users = [
        (user_id(source, node), f"{source}_{node}", f"{title} user {node}", "", now, source, node)
        for node in nodes
    ]
    friendships = sorted((a, b, now) for a, b in pairs)
    report.sent.update(users=len(users), friendships=len(friendships))
    kw: dict[str, Any] = {"database": database, "batch_size": batch_size}
    with bulk.progress(disable=not show_progress) as bar:
        kw["bar"] = bar
        with report.step("users"):
            report.written["users"] = bulk.users_packed(
                driver, users, create=create, writers=writers, **kw
            )
        with report.step("friendships"):
            report.written["friendships"] = bulk.friendships_packed(
                driver, friendships, create=create, writers=writers, **kw
            )
    end_seed(report, driver, database)
    missing = len(friendships) - report.written["friendships"]
    if missing:  # a MATCH found no user: cannot happen unless users failed to load
        report.notes.append(f"{missing:,} friendship rows matched no user pair (skipped).")
    report.notes.append(
        f"File: {len(raw):,} rows, {len(nodes):,} nodes, {len(pairs):,} distinct edges, "
        f"{self_loops:,} self-loops skipped, {report.extra['duplicates']:,} duplicate rows; "
        f"delimiter {fmt.delimiter or 'whitespace'!r}, header {'yes' if fmt.header else 'no'}."
    )
    report.notes.append(write_path_note(report, create, ("users", "friendships")))
    return report


def load_dataset(driver: Driver, name: str, **kw: Any) -> SeedReport:
    ds = DATASETS.get(name)
    if ds is None:
        raise EdgeListError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if not ds.path.is_file():
        raise EdgeListError(
            f"{ds.path}: not found (the data sets are looked for in {DATA_DIR}; "
            "set SOCIALGRAPH_DATA_DIR to the folder that holds them)"
        )
    report = load_edgelist(driver, ds.path, source=ds.name, **kw)
    report.notes.append(f"{ds.title}. Cite: {ds.citation}.")
    return report


def user_by_source_id(
    driver: Driver, source: str, source_id: str | int, database: str = "neo4j"
) -> dict[str, Any] | None:
    """The user a data set's node became, or None (`queries/users/by_source_id.cypher`)."""
    row = SyncGraph(driver, database).read_tx(
        lambda tx: tx.raw_one("users.by_source_id", source=source, source_id=str(source_id))
    )
    return dict(row["user"]) if row else None
