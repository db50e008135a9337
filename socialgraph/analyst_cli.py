"""`socialgraph query ...`, `socialgraph cypher ...` and `socialgraph export ...`: the
analysts' commands.

    socialgraph query --list                              the catalog, with descriptions
    socialgraph query NAME [-p key=value ...] [--format table|csv|json]
    socialgraph cypher TEXT|- [-p key=value ...] [--format ...] [--explain]
    socialgraph export --format graphml|edgelist|json [--out PATH] [--ego USER_ID --depth N]

All talk to the configured Neo4j (NEO4J_URI, ...). Failures print one sentence on
stderr and exit non-zero: unknown query (with the available names), missing or
unknown parameter (named), Neo4j's refusal, an unreachable server. Parameter values
are typed as `graph.analytics.coerce_params` documents.

`cypher` runs the analyst's own text through the API's guard (`graph.adhoc.run_adhoc`:
READ transaction rolled back, EXPLAIN plan check, credential store refused, server
timeout, row cap and ANALYST_MAX_RESULT_BYTES), so the shell reaches no more than
`POST /v1/analytics/cypher` does; `--explain` prints the plan instead of running it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from socialgraph.clikit import CliKit, console, err, quiet_notifications, run

# Neo4j's messages and the list of query names stay on one line, to grep and paste.
kit = CliKit(soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormatOpt(StrEnum):
    graphml = "graphml"
    edgelist = "edgelist"
    json = "json"


def parse_params(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            kit.fail(f"--param wants key=value, got {pair!r}", 2)
        if key in out:
            kit.fail(f"--param {key} given twice", 2)
        out[key] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def print_rows(columns: list[str], rows: list[dict[str, Any]], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        console.print(table)


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """`graph.adhoc.plan_tree` as an indented tree, one operator per line:
    `Operator (est. N rows) details`."""
    lines: list[str] = []
    stack: list[tuple[dict[str, Any], str, str]] = [(plan, "", "")]
    while stack:
        op, lead, rest = stack.pop()
        estimate = op.get("estimated_rows")
        rows = "" if estimate is None else f" (est. {estimate:,.0f} rows)"
        details = f"  {op['details']}" if op.get("details") else ""
        lines.append(f"{lead}{op['operator']}{rows}{details}")
        children = op.get("children") or []
        for i, child in reversed(list(enumerate(children))):
            last = i == len(children) - 1
            stack.append(
                (child, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "))
            )
    return lines


def print_catalog() -> None:
    from graph.analytics import list_catalog

    table = Table(show_lines=True)
    table.add_column("query", no_wrap=True, style="bold")
    table.add_column("params")
    table.add_column("returns")
    table.add_column("description", ratio=2)
    for entry in list_catalog():
        params = (
            ", ".join(
                f"{p}={entry.defaults[p]!r}" if p in entry.defaults else p for p in entry.params
            )
            or "-"
        )
        table.add_row(entry.name, params, entry.returns, entry.description)
    console.print(table)


def query_command(
    name: str | None = typer.Argument(None, help="Catalog query name (see --list)"),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="Query parameter as key=value (repeatable)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format"),
    list_: bool = typer.Option(False, "--list", help="Show the catalog and exit"),
    timeout: float = typer.Option(60.0, help="Server-side timeout in seconds"),
    max_rows: int = typer.Option(10_000, "--max-rows", help="Stop after this many rows"),
) -> None:
    """Run one analytics query from queries/analytics/ and print its rows."""
    from core.errors import DomainError
    from graph.analytics import coerce_params, get_query, run_named

    if list_:
        print_catalog()
        return
    if not name:
        kit.fail("name a query, or use --list to see the catalog", 2)
    raw = parse_params(param)
    try:
        get_query(name)
    except DomainError as exc:
        kit.fail(exc.message, 2)
    s = kit.settings()
    quiet_notifications()

    async def query() -> Any:
        async with kit.graph(s, timeout=timeout) as graph:
            return await run_named(
                graph, name, coerce_params(raw), timeout=timeout, row_cap=max_rows
            )

    try:
        result = run(query())
    except DomainError as exc:
        code = exc.details.get("neo4j_code")
        kit.fail(exc.message + (f" ({code})" if code else ""), 2 if exc.code == "invalid" else 1)
    print_rows(result.columns, result.rows, fmt)
    for note in result.notifications:
        err.print(f"[yellow]neo4j:[/] {note}", highlight=False, soft_wrap=True)
    tail = f"{len(result.rows)} rows in {result.elapsed_ms:.0f} ms"
    if result.truncated:
        tail += f" (stopped at --max-rows {max_rows}; more rows exist)"
    err.print(tail, highlight=False, style="dim", soft_wrap=True)


def cypher_command(
    text: str = typer.Argument(..., help="Cypher text, or - to read it from stdin"),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="Query parameter as key=value (repeatable)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format"),
    explain: bool = typer.Option(
        False, "--explain", help="Print Neo4j's plan (operators, estimated rows); run nothing"
    ),
    timeout: float = typer.Option(
        5.0, min=0.1, max=60.0, help="Server-side timeout in seconds (at most 60)"
    ),
    max_rows: int = typer.Option(1000, "--max-rows", min=1, max=10_000, help="Row cap"),
) -> None:
    """Run read-only Cypher under the API's ad-hoc guard, or show its plan (--explain)."""
    from core.errors import DomainError
    from graph.adhoc import explain_text, run_adhoc
    from graph.analytics import coerce_params

    if text == "-":
        text = sys.stdin.read()
    raw = parse_params(param)
    if explain:
        text = explain_text(text)[0]
    s = kit.settings()
    quiet_notifications()

    async def query() -> Any:
        async with kit.graph(s, timeout=timeout) as graph:
            return await run_adhoc(
                graph,
                text,
                coerce_params(raw),
                timeout=timeout,
                row_cap=max_rows,
                max_bytes=s.analyst_max_result_bytes,
            )

    try:
        result = run(query())
    except DomainError as exc:
        code = exc.details.get("neo4j_code")
        reason = exc.details.get("reason")
        kit.fail(exc.message + (f" ({code or reason})" if code or reason else ""), 2)
    if result.plan is not None:
        if fmt is OutputFormat.json:
            sys.stdout.write(json.dumps(result.plan, ensure_ascii=False, indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(plan_lines(result.plan)) + "\n")
    else:
        print_rows(result.columns, result.rows, fmt)
    for note in result.notifications:
        err.print(f"[yellow]neo4j:[/] {note}", highlight=False, soft_wrap=True)
    if result.plan is not None:
        tail = f"plan only, nothing run ({result.elapsed_ms:.0f} ms)"
    else:
        tail = f"{len(result.rows)} rows in {result.elapsed_ms:.0f} ms"
    if result.truncated:
        tail += f" (stopped at --max-rows {max_rows}; more rows exist)"
    err.print(tail, highlight=False, style="dim", soft_wrap=True)


def export_command(
    fmt: ExportFormatOpt = typer.Option(..., "--format", "-f", help="File format"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: stdout)"),
    ego: str | None = typer.Option(None, "--ego", help="Export this user's ego network only"),
    depth: int | None = typer.Option(
        None, "--depth", min=1, max=3, help="Ego network depth, 1-3 (with --ego; default 1)"
    ),
    batch_size: int = typer.Option(10_000, "--batch-size", min=1, help="Rows per page"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr"),
) -> None:
    """Write the friendship graph (or one user's ego network) as GraphML, edge list or JSON."""
    from neo4j.exceptions import DriverError, Neo4jError

    from core.errors import DomainError
    from graph.export import ExportStats, export_graph

    if depth is not None and ego is None:
        kit.fail("--depth needs --ego USER_ID", 2)
    s = kit.settings()
    quiet_notifications()
    tmp = out.with_name(out.name + ".partial") if out is not None else None
    with kit.sync_driver(s) as driver:

        def write(fh: Any) -> ExportStats:
            return export_graph(
                driver,
                fmt.value,
                fh,
                database=s.neo4j_database,
                ego=ego,
                depth=depth or 1,
                batch_size=batch_size,
                progress=progress,
            )

        try:
            if out is None or tmp is None:
                stats = write(sys.stdout)
            else:
                # Write beside the target and rename, so a failed export leaves no half file.
                with tmp.open("w", encoding="utf-8") as fh:
                    stats = write(fh)
                os.replace(tmp, out)
        except DomainError as exc:
            kit.fail(exc.message)
        except (Neo4jError, DriverError) as exc:
            kit.fail(f"export failed: {exc}")
        except OSError as exc:
            kit.fail(f"cannot write {out}: {exc}")
        finally:
            if tmp is not None and tmp.exists():
                tmp.unlink()
    where = str(out) if out else "stdout"
    users = "" if fmt is ExportFormatOpt.edgelist else f"{stats.nodes} users, "
    err.print(
        f"{users}{stats.edges} friendships written to {where} ({fmt.value})",
        highlight=False,
        style="dim",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the analyst commands to the main CLI."""
    app.command("query")(query_command)
    app.command("cypher")(cypher_command)
    app.command("export")(export_command)
