"""`socialgraph seed ...`: demo, synthetic and real-data graph builders.

    socialgraph seed demo [--reset]
    socialgraph seed synthetic --users N --avg-degree D --model powerlaw-cluster|sbm --seed S
                               [--batch-size B] [--posts-per-user P] [--reset]
    socialgraph seed edgelist PATH [--source NAME] [--delimiter ,] [--encoding E] [--reset]
    socialgraph seed dataset facebook|lastfm|deezer [--reset]
    socialgraph seed ldbc [DIR] [--replies root|skip] [--reset]

Each command ensures the schema, writes in batched UNWIND transactions with progress
bars, and ends with a table of what it wrote and what the graph now holds. Re-runs are
idempotent; `--reset` deletes the whole graph first. See docs/seeds.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from seeds.common import SeedReport
from socialgraph.clikit import CliKit, console, quiet_notifications

seed_app = typer.Typer(help="Build demo and real graphs in Neo4j", no_args_is_help=True)
kit = CliKit(soft_wrap=True)  # one-line errors: a file name and line stay greppable


class ModelOpt(StrEnum):
    powerlaw_cluster = "powerlaw-cluster"
    sbm = "sbm"


class DatasetOpt(StrEnum):
    facebook = "facebook"
    lastfm = "lastfm"
    deezer = "deezer"


class RepliesOpt(StrEnum):
    root = "root"
    skip = "skip"


def _show(report: SeedReport) -> None:
    console.print(report.table())
    for note in report.notes:
        console.print(note, highlight=False)


def _run(
    what: str,
    seed: Callable[[Driver, str], SeedReport],
    bad_input: tuple[type[Exception], ...] = (),
) -> SeedReport:
    """Open the driver, run one seed, close it, show the report. Bad input (a file, a
    spec) exits 2 with its message; a Neo4j failure exits 1 naming the seed."""
    quiet_notifications()
    settings = kit.settings()
    with kit.sync_driver(settings) as driver:
        try:
            report = seed(driver, settings.neo4j_database)
        except (Neo4jError, DriverError) as exc:
            kit.fail(f"{what} failed: {exc}")
        except bad_input as exc:
            kit.fail(str(exc), 2)
    _show(report)
    return report


# The options the seed commands share, defined once; each command sets its own default.
BatchSize = Annotated[
    int,
    typer.Option(
        "--batch-size",
        min=1,
        help="Rows per UNWIND transaction (see docs/seeds.md for the measurements)",
    ),
]
Writers = Annotated[
    int,
    typer.Option(
        "--writers", min=1, max=8, help="Concurrent sessions writing users and friendships"
    ),
]
Reset = Annotated[
    bool,
    typer.Option(
        "--reset", help="Delete the whole graph first (then the faster CREATE path is used)"
    ),
]
Progress = Annotated[bool, typer.Option("--progress/--no-progress")]


@seed_app.command("demo")
def demo(
    reset: Reset = False,
    progress: Progress = True,
) -> None:
    """About 30 named users in four communities, requests, posts, likes, comments."""
    from seeds.demo import seed_demo

    _run(
        "demo seed",
        lambda driver, database: seed_demo(
            driver, database=database, reset=reset, show_progress=progress
        ),
    )


@seed_app.command("synthetic")
def synthetic(
    users: int = typer.Option(10_000, "--users", min=2, help="Number of users"),
    avg_degree: float = typer.Option(
        20.0, "--avg-degree", min=0.1, help="Average friendships per user"
    ),
    model: ModelOpt = typer.Option(ModelOpt.powerlaw_cluster, "--model"),
    seed: int = typer.Option(42, "--seed", help="Random seed: same seed, same graph"),
    batch_size: BatchSize = 10_000,
    writers: Writers = 2,
    posts_per_user: float = typer.Option(1.0, "--posts-per-user", min=0.0),
    likes_per_post: float = typer.Option(2.0, "--likes-per-post", min=0.0),
    comments_per_post: float = typer.Option(0.5, "--comments-per-post", min=0.0),
    triangle_prob: float = typer.Option(
        0.3,
        "--triangle-prob",
        min=0.0,
        max=1.0,
        help="powerlaw-cluster: triangle-closing probability",
    ),
    communities: int | None = typer.Option(
        None, "--communities", min=1, help="sbm: number of communities"
    ),
    mixing: float = typer.Option(
        0.2, "--mixing", min=0.0, max=1.0, help="sbm: share of friendships across communities"
    ),
    reset: Reset = False,
    progress: Progress = True,
) -> None:
    """A deterministic synthetic graph (Holme-Kim power-law clusters or a block model)."""
    from seeds.synthetic import Spec, seed_synthetic

    try:
        spec = Spec(
            users=users,
            avg_degree=avg_degree,
            model=model.value,
            seed=seed,
            triangle_prob=triangle_prob,
            communities=communities,
            mixing=mixing,
            posts_per_user=posts_per_user,
            likes_per_post=likes_per_post,
            comments_per_post=comments_per_post,
        )
    except ValueError as exc:
        kit.fail(str(exc), 2)
    report = _run(
        "synthetic seed",
        lambda driver, database: seed_synthetic(
            driver,
            spec,
            database=database,
            batch_size=batch_size,
            writers=writers,
            reset=reset,
            show_progress=progress,
        ),
        bad_input=(ValueError,),
    )
    users_s, edges_s = report.seconds.get("users", 0.0), report.seconds.get("friendships", 0.0)
    if users_s > 0 and edges_s > 0:
        console.print(
            f"Users and friendships in {report.extra['graph_seconds']:.1f} s (generation "
            f"included): {report.written.get('users', 0) / users_s:,.0f} users/s, "
            f"{report.written.get('friendships', 0) / edges_s:,.0f} friendships/s.",
            highlight=False,
        )


def _default_source(path: Path) -> str:
    return re.sub(r"[^a-z0-9]", "", path.stem.lower())[:20] or "edgelist"


@seed_app.command("edgelist")
def edgelist(
    path: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="Edge list file: `u v` lines or a CSV with a header",
    ),
    source: str | None = typer.Option(
        None, "--source", help="Data set name (default: from the file name)"
    ),
    delimiter: str | None = typer.Option(
        None, "--delimiter", help="Field separator (default: detected)"
    ),
    encoding: str = typer.Option(
        "utf-8", "--encoding", help="The file's text encoding, e.g. latin-1 or cp1252"
    ),
    batch_size: BatchSize = 10_000,
    writers: Writers = 2,
    reset: Reset = False,
    progress: Progress = True,
) -> None:
    """Load an undirected edge list as users (source, source_id) and friendships."""
    from seeds.edgelist import EdgeListError, load_edgelist

    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t", "space": " "}.get(delimiter, delimiter)
    _run(
        "edge list load",
        lambda driver, database: load_edgelist(
            driver,
            path,
            source=source or _default_source(path),
            delimiter=delimiter,
            encoding=encoding,
            database=database,
            batch_size=batch_size,
            writers=writers,
            reset=reset,
            show_progress=progress,
        ),
        bad_input=(EdgeListError,),
    )


@seed_app.command("dataset")
def dataset(
    name: DatasetOpt = typer.Argument(..., help="Which public data set"),
    batch_size: BatchSize = 10_000,
    writers: Writers = 2,
    reset: Reset = False,
    progress: Progress = True,
) -> None:
    """Load SNAP ego-Facebook, LastFM Asia or Deezer Europe from ../shared/data."""
    from seeds.edgelist import EdgeListError, load_dataset

    _run(
        "data set load",
        lambda driver, database: load_dataset(
            driver,
            name.value,
            database=database,
            batch_size=batch_size,
            writers=writers,
            reset=reset,
            show_progress=progress,
        ),
        bad_input=(EdgeListError,),
    )


@seed_app.command("ldbc")
def ldbc(
    directory: Path | None = typer.Argument(
        None,
        file_okay=False,
        help="LDBC SNB data set folder (default: the tiny set in ../shared/data)",
    ),
    replies: RepliesOpt = typer.Option(
        RepliesOpt.root,
        "--replies",
        help="Replies to comments: attach to the thread's post (root) or leave out (skip)",
    ),
    batch_size: BatchSize = 5_000,
    reset: Reset = False,
    progress: Progress = True,
) -> None:
    """Load the LDBC SNB Interactive data set: persons, knows, posts, comments, likes."""
    from seeds.ldbc import DEFAULT_DIR, LdbcError, load_ldbc

    _run(
        "LDBC load",
        lambda driver, database: load_ldbc(
            driver,
            directory or DEFAULT_DIR,
            database=database,
            batch_size=batch_size,
            replies=replies.value,
            reset=reset,
            show_progress=progress,
        ),
        bad_input=(LdbcError,),
    )
