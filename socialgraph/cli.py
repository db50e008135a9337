"""`socialgraph`: the one command for everything an operator does.

socialgraph dev up|down|status|reset   the local Neo4j + Redis stack
socialgraph db migrate                 constraints and indexes
socialgraph serve                      the API (uvicorn)
socialgraph seed ...                   demo and real graphs
socialgraph query ...                  the analysts' catalog
socialgraph cypher "..." [--explain]   analysts' read-only Cypher, guarded as in the API
socialgraph user create|set-password|list|delete   accounts
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

import typer
from rich.table import Table

from core.config import Settings
from socialgraph import devstack
from socialgraph.clikit import CliKit, console, run

app = typer.Typer(
    help="socialgraph operator commands", no_args_is_help=True, pretty_exceptions_enable=False
)
dev_app = typer.Typer(help="Run the local Neo4j + Redis stack", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance", no_args_is_help=True)
app.add_typer(dev_app, name="dev")
app.add_typer(db_app, name="db")


def _register_subcommands() -> None:
    from socialgraph import analyst_cli
    from socialgraph.seed_cli import seed_app
    from socialgraph.user_cli import user_app

    app.add_typer(seed_app, name="seed")
    app.add_typer(user_app, name="user")
    analyst_cli.register(app)


kit = CliKit()


# ------------------------------------------------------------------ dev


@dev_app.command("up")
def dev_up(
    cluster: bool = typer.Option(
        False, "--cluster", help="Also start the local Redis Cluster (as REDIS_CLUSTER=1 does)"
    ),
) -> None:
    """Start Redis and Neo4j (idempotent) and wait until both answer."""
    s = kit.settings()
    if cluster:
        s = s.model_copy(update={"redis_cluster": True})
    try:
        for line in devstack.up(s):
            console.print(line, highlight=False)
    except devstack.StackError as exc:
        kit.fail(str(exc))
    console.print(
        f"Logs: {s.state_dir / 'neo4j' / 'logs'} and {s.state_dir / 'redis'}", highlight=False
    )
    if s.redis_cluster:
        console.print(f"Redis Cluster logs: {s.state_dir / 'redis-cluster'}", highlight=False)


@dev_app.command("down")
def dev_down() -> None:
    """Stop the local stack (succeeds when nothing runs)."""
    for line in devstack.down(kit.settings()):
        console.print(line, highlight=False)


@dev_app.command("status")
def dev_status() -> None:
    """Show whether each local service runs, where, and where its logs are; where the
    Neo4j Browser is and which credentials it takes."""
    s = kit.settings()
    table = Table("service", "state", "pid", "address", "detail")
    for st in devstack.status(s):
        table.add_row(
            st.name,
            "running" if st.running else "stopped",
            str(st.pid or "-"),
            st.address,
            st.detail,
        )
    console.print(table)
    for line in devstack.browser_lines(s):
        console.print(line, highlight=False, soft_wrap=True)


@dev_app.command("reset")
def dev_reset(yes: bool = typer.Option(False, "--yes", help="Do not ask")) -> None:
    """Stop the stack and delete its state directory (all local data)."""
    s = kit.settings()
    if not yes and not typer.confirm(f"Delete {s.state_dir}?"):
        raise typer.Exit(1)
    for line in devstack.reset(s):
        console.print(line, highlight=False)


# ------------------------------------------------------------------ db


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply constraints and indexes from queries/schema (idempotent)."""
    from graph.schema import migrate

    s = kit.settings()

    async def apply() -> list[str]:
        async with kit.async_driver(s) as driver:
            return await migrate(driver, s.neo4j_database)

    applied = run(apply())
    console.print(f"Schema up to date: {len(applied)} statements applied idempotently.")


@app.command("grant-role")
def grant_role(
    handle: str = typer.Argument(..., help="User handle"),
    role: str = typer.Argument(..., help="Role to add, e.g. analyst"),
    revoke: bool = typer.Option(False, "--revoke", help="Remove the role instead"),
) -> None:
    """Give a user a role (or take it away). Roles cannot be set through the API."""
    s = kit.settings()

    async def change() -> dict[str, Any] | None:
        # One write transaction: concurrent changes to one user's roles all apply.
        async with kit.graph(s) as graph:
            return await graph.write_one(
                "users.change_role", handle=handle, role=role, revoke=revoke
            )

    row = run(change())
    if row is None:
        kit.fail(f"no user with handle {handle!r}")
    console.print(f"{handle}: roles = {sorted(row['roles'])}")
    _expire_principal(s, row["id"])


def _expire_principal(s: Settings, user_id: str) -> None:
    """The API caches each user's roles; bump their version so the change applies to the
    user's next request instead of after the cache TTL."""
    from api import services
    from redislayer.cache import bump_now
    from redislayer.connection import REDIS_ERRORS, open_sync_redis

    try:
        client = open_sync_redis(s)
        with client:
            bump_now(client, "auth", [user_id])  # as invalidate.principal_changed does
    except REDIS_ERRORS as exc:
        console.print(
            f"[yellow]Redis unreachable ({exc}): running API workers keep the old roles for "
            f"up to {services.PRINCIPAL_TTL:.0f} s.[/yellow]"
        )


@app.command()
def evaluate(
    dataset: list[str] = typer.Option(["facebook", "lastfm", "deezer"], help="Data sets"),
    hide: float = typer.Option(0.1, help="Fraction of friendships hidden"),
    k: int = typer.Option(10, help="Suggestions per user"),
    users: int = typer.Option(500, help="Users sampled per data set"),
    seed: int = typer.Option(42),
    out: str | None = typer.Option(None, help="Write the Markdown report here"),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the graph is replaced"),
) -> None:
    """Offline quality of friend suggestions on the real data sets (replaces the graph!)."""
    import networkx as nx

    from seeds.edgelist import DATASETS, detect_format, read_edges
    from socialgraph.evaluation import Scores, markdown
    from socialgraph.evaluation import evaluate as run_eval

    s = kit.settings()
    if not yes:
        kit.fail("evaluate deletes and reloads the graph; run it on a scratch stack with --yes")
    unknown = [d for d in dataset if d not in DATASETS]
    if unknown:
        kit.fail(f"unknown data set(s) {unknown}; choose from {sorted(DATASETS)}")

    async def score() -> list[Scores]:
        rows: list[Scores] = []
        with kit.sync_driver(s) as sync:
            async with kit.graph(s, timeout=60) as graph:
                for name in dataset:
                    path = DATASETS[name].path
                    g = nx.Graph()
                    g.add_edges_from(read_edges(path, detect_format(path)))
                    g.remove_edges_from(nx.selfloop_edges(g))
                    rows += await run_eval(
                        sync,
                        graph,
                        name,
                        g,
                        hide=hide,
                        k=k,
                        users=users,
                        seed=seed,
                        database=s.neo4j_database,
                        progress=lambda m: console.print(m, highlight=False),
                    )
        return rows

    rows = run(score())
    table = markdown(rows, k)
    console.print(table, highlight=False)
    if out:
        command = (
            f"socialgraph evaluate --yes --hide {hide} --k {k} --users {users} "
            f"--seed {seed} " + " ".join(f"--dataset {d}" for d in dataset)
        )
        from pathlib import Path

        Path(out).write_text(f"<!-- generated by: {command} -->\n{table}\n")


# ------------------------------------------------------------------ serve


def preflight(s: Settings) -> None:
    """Fail with a sentence, not a traceback, when a dependency is missing."""
    from redislayer.connection import REDIS_ERRORS, address, open_sync_redis

    with kit.sync_driver(s):
        pass  # opened and verified: Neo4j answers and takes our password
    try:
        client = open_sync_redis(s)
        client.ping()  # on a cluster: the node the client starts from, which maps the rest
        client.close()
    except REDIS_ERRORS as exc:
        kit.fail(
            f"Cannot reach Redis at {address(s)} ({exc}). Start the local stack with "
            "`socialgraph dev up` (`--cluster` for REDIS_CLUSTER=1), or set REDIS_URL "
            "(REDIS_CLUSTER_URL)."
        )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Bind address"),
    port: int = typer.Option(8000, help="Port"),
    workers: int = typer.Option(1, help="uvicorn worker processes"),
    log_level: str = typer.Option("info"),
) -> None:
    """Serve the API with uvicorn (checks Neo4j and Redis first). Logs are JSON lines on
    stderr with tokens redacted; metrics add up across workers (docs/observability.md)."""
    from core import logconfig
    from core.metrics import MULTIPROC_ENV

    s = kit.settings()
    preflight(s)
    # Several workers add up their metrics through files in a fresh directory of this run
    # (core/metrics.py), inside PROMETHEUS_MULTIPROC_DIR when that is set; one worker keeps
    # them in memory.
    metrics_dir = None
    if workers > 1:
        parent = os.environ.get(MULTIPROC_ENV) or None
        metrics_dir = tempfile.mkdtemp(prefix="socialgraph-metrics-", dir=parent)
        os.environ[MULTIPROC_ENV] = metrics_dir
    else:
        os.environ.pop(MULTIPROC_ENV, None)
    try:
        _run_uvicorn(host, port, workers, log_level, logconfig.config(log_level))
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(
    host: str, port: int, workers: int, log_level: str, log_config: dict[str, Any]
) -> None:
    import uvicorn

    uvicorn.run(
        "api.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=log_config,
        access_log=False,  # the API's own request line replaces it (no query strings)
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        # Protocol-level cap on client frames; the app closes above 4 KiB itself.
        ws_max_size=64 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )


_register_subcommands()


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
