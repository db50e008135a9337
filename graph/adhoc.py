"""Run analysts' Cypher safely: read-only, time-bounded, row-capped, on one database.

Ad-hoc query text is user-supplied by design (the analyst role exists to ask the
graph new questions), so it cannot come from the catalog. What keeps it harmless:

1. **The read transaction is the guard.** Every query runs in an explicit
   transaction of a session opened with `default_access_mode=READ` on the configured
   database. Neo4j refuses any write in it (CREATE, MERGE, SET, REMOVE, DELETE,
   schema commands, write procedures such as `db.createLabel`) with
   `Neo.ClientError.Statement.AccessMode`. The transaction is always rolled back,
   never committed.
2. **A server-side timeout** (`begin_transaction(timeout=...)`): Neo4j terminates the
   transaction when it runs longer, and a client-side backstop a little later covers
   a server that stops answering. An explicit transaction (not `execute_read`) means
   the driver never retries an expensive analyst query by itself.
3. **A row cap and a byte cap**: at most `row_cap + 1` records are pulled; the extra one
   only tells the caller `truncated=True`. With `max_bytes` (the API passes
   `ANALYST_MAX_RESULT_BYTES`), rows are counted as compact JSON while they stream in and
   the query is refused (`too_large`) past the cap, before the response is built.
4. **A plan check** for the few things a read transaction still allows. Before
   running, the text is EXPLAINed (planned, not executed) in the same transaction and
   the plan is rejected when it uses another database (admin commands run against
   `system`), `LOAD CSV` (makes the server read files and URLs), `SHOW`/`TERMINATE
   TRANSACTIONS`, `SHOW SETTINGS`, or a DBMS-mode procedure (`dbms.killConnection`,
   `db.clearQueryCaches`, `dbms.listConfig`, ...; the set is read from `SHOW PROCEDURES`)
   or a read procedure with side effects (`db.stats.*`, `db.resample*`,
   `db.prepareForReplanning`).
   The server parses the text, so backticks, comments or odd spacing cannot hide a call.
5. **Credentials are out of reach.** Password hashes live on `:Credential` nodes
   (`core/passwords.py`), which have no relationships, so no traversal from the social
   graph reaches them. The plan check refuses any operator that names the label (a
   label scan, an index seek, a label test, a count) and any that can produce a node
   without naming a label: `AllNodesScan` (`MATCH (n)`, `MATCH (n:!User)`, dynamic
   labels `n:$($x)`), `NodeByIdSeek`, `NodeByElementIdSeek`. Subqueries (`COLLECT {}`,
   `EXISTS {}`, `CALL {}`) are planned as operators of the same tree, so they are
   checked too. Community Edition has no property-level security; this is what stands
   in for it, and no string trick can hide an operator because the server plans it.
   Analysts anchor a MATCH on a label instead (`MATCH (n:User|Post)`).
6. **A text check** that refuses, without a round trip, obviously administrative
   commands (GRANT, CREATE DATABASE, SHOW USERS, USE ...) and any mention of
   `password_hash` (the property hashes were kept in before `:Credential`).
   `graph.serialize` also strips and redacts hash-shaped values and `:Credential` nodes
   from results, as a last line.

**EXPLAIN** text is checked and run like any other (it plans, never executes) and comes
back with the server's plan as `AdhocResult.plan` (`plan_tree`: each operator with its
details, estimated rows and children), so an analyst can see how a query would run.

Every refusal, syntax error and timeout raises `core.errors.QueryRejected` with
Neo4j's message and, in `details`, `neo4j_code` (or `reason` for our own checks). So does
a refusal by Neo4j's memory guard (reason `memory`): the same query would fail again, so
it is the analyst's to change, not a "retry shortly".

Should a hash leak anyway (a backup, a future bypass), it is useless offline: it is
Argon2id over an HMAC of the password with a pepper key only the API holds.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from neo4j.exceptions import (
    ClientError,
    DriverError,
    Neo4jError,
)

from core.errors import QueryRejected, Unavailable
from graph import serialize
from graph.db import UNREACHABLE, Graph, Probe, map_neo4j_error
from graph.queries import Query, analyst_query

DEFAULT_TIMEOUT = 5.0
DEFAULT_ROW_CAP = 1000
# Client-side backstop beyond the server timeout, for a server that stops answering.
_BACKSTOP_GRACE = 10.0
MAX_QUERY_CHARS = 100_000

# Plan operators a read transaction allows but analysts must not run.
DENIED_OPERATORS: Mapping[str, str] = {
    "LoadCSV": "LOAD CSV makes the database server read files or URLs",
    "ShowTransactions": "SHOW TRANSACTIONS exposes other sessions' queries",
    "TerminateTransactions": "TERMINATE TRANSACTIONS stops other sessions' work",
    "ShowSettings": "SHOW SETTINGS exposes server configuration",
    "AdministrationCommand": "administration commands are not available to ad-hoc queries",
}
# Where password hashes live (core/passwords.py); no ad-hoc plan may touch it.
_CREDENTIAL_RE = re.compile(rf"\b{serialize.CREDENTIAL_LABEL}\b")
# Leaf operators that can yield any node, whatever its label (hence a :Credential).
UNANCHORED_OPERATORS = frozenset(
    {"AllNodesScan", "PartitionedAllNodesScan", "NodeByIdSeek", "NodeByElementIdSeek"}
)
# DBMS-mode procedures that only describe the server.
ALLOWED_DBMS_PROCEDURES = frozenset({"dbms.components"})
# READ-mode procedures with side effects: query statistics collection (would expose
# other sessions' query text), index resampling and replanning (server work).
DENIED_PROCEDURE_PREFIXES = ("db.stats.", "db.resample", "db.prepareForReplanning")

_LEADING_NOISE_RE = re.compile(r"\A(?:\s+|//[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_MODE_RE = re.compile(r"(EXPLAIN|PROFILE)\b", re.I)
_ADMIN_RE = re.compile(
    r"""(?:
        (?:GRANT|DENY|REVOKE|ALTER|START|STOP|ENABLE|DEALLOCATE|REALLOCATE|RENAME
           |TERMINATE|USE|DRYRUN)\b
      | (?:CREATE|DROP)\s+(?:OR\s+REPLACE\s+)?(?:COMPOSITE\s+)?
           (?:DATABASE|ALIAS|USER|ROLE|SERVER)\b
      | SHOW\s+(?:USERS?|ROLES?|POPULATED|PRIVILEGES?|SUPPORTED|DATABASES?|HOME|DEFAULT
           |ALIAS(?:ES)?|SERVERS?|TRANSACTIONS?|SETTINGS?|CURRENT)\b
    )""",
    re.I | re.X,
)
_SECRET_RE = re.compile(r"password_hash", re.I)

_dbms_procedures: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class AdhocResult:
    """Rows of a read query, JSON-safe (see `graph.serialize`), keyed by column."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: float
    notifications: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None  # `plan_tree` of the plan, for EXPLAIN text only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _body(text: str) -> tuple[str, str]:
    """Split `text` into its leading comments/whitespace and the statement itself."""
    m = _LEADING_NOISE_RE.match(text)
    end = m.end() if m else 0
    return text[:end], text[end:]


def precheck(text: str) -> None:
    """Refuse obviously administrative or secret-reading text before contacting Neo4j."""
    if not text.strip():
        raise QueryRejected("the query is empty", {"reason": "empty"})
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRejected(
            f"the query is longer than {MAX_QUERY_CHARS} characters", {"reason": "too_long"}
        )
    _, body = _body(text)
    mode = _MODE_RE.match(body)
    if mode:
        _, body = _body(body[mode.end() :])
    if _ADMIN_RE.match(body):
        raise QueryRejected(
            "administrative commands (users, roles, privileges, databases, transactions, "
            "settings, USE) are not available to ad-hoc queries",
            {"reason": "administrative"},
        )
    if _SECRET_RE.search(text):
        raise QueryRejected(
            "password hashes are not readable through ad-hoc queries", {"reason": "secret"}
        )


def explain_text(text: str) -> tuple[str, bool]:
    """The EXPLAIN form of `text` for the plan check, and whether `text` is itself an EXPLAIN."""
    lead, body = _body(text)
    mode = _MODE_RE.match(body)
    if mode is None:
        return "EXPLAIN " + text, False
    if mode.group(1).upper() == "EXPLAIN":
        return text, True
    return lead + "EXPLAIN" + body[mode.end() :], False


def plan_tree(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The driver's plan (`ResultSummary.plan`) as JSON-safe data: per operator `operator`,
    `details`, `estimated_rows`, `identifiers` and `children` (built without recursion:
    a long query can plan deep)."""

    def node(p: Mapping[str, Any]) -> dict[str, Any]:
        args = p.get("args") or {}
        estimate = args.get("EstimatedRows")
        return {
            "operator": str(p.get("operatorType", "")).partition("@")[0],
            "details": str(args.get("Details") or ""),
            "estimated_rows": None if estimate is None else round(float(estimate), 2),
            "identifiers": [str(i) for i in p.get("identifiers") or []],
            "children": [],
        }

    root = node(plan)
    stack = [(plan, root)]
    while stack:
        source, out = stack.pop()
        for child in source.get("children") or []:
            converted = node(child)
            out["children"].append(converted)
            stack.append((child, converted))
    return root


def _operators(plan: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(operator, database, details) for every operator of a plan tree."""
    out: list[tuple[str, str, str]] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        op, _, db = str(node.get("operatorType", "")).partition("@")
        details = str((node.get("args") or {}).get("Details") or "")
        out.append((op, db, details))
        stack.extend(node.get("children") or [])
    return out


async def _dbms_procedure_names(probe: Probe, database: str) -> frozenset[str]:
    names = _dbms_procedures.get(database)
    if names is None:
        record = await probe.one("system.dbms_procedures")
        names = frozenset(record["names"] if record else ())
        _dbms_procedures[database] = names
    return names


async def _check_plan(
    probe: Probe,
    text: str,
    params: Mapping[str, Any],
    database: str,
    seen: dict[str, Any] | None = None,
) -> list[str]:
    """EXPLAIN `text` (never executes it), refuse what a read transaction allows but we
    don't, and return the server's warnings (unknown labels, cartesian products...).
    The plan, once accepted, goes into `seen["plan"]`."""
    explain, _ = explain_text(text)
    summary = await probe.summary(analyst_query(explain, "explain"), params)
    notes = [
        s.status_description
        for s in summary.gql_status_objects
        if s.is_notification and s.status_description
    ]
    plan = summary.plan
    if not plan:
        return notes
    for op, db, details in _operators(plan):
        if db and db != database:
            raise QueryRejected(
                f"the query runs against database {db!r}; ad-hoc queries run against "
                f"{database!r} only (administrative commands are not available)",
                {"reason": "database", "database": db},
            )
        if op in DENIED_OPERATORS:
            raise QueryRejected(DENIED_OPERATORS[op], {"reason": "operator", "operator": op})
        if _CREDENTIAL_RE.search(details):
            raise QueryRejected(
                f":{serialize.CREDENTIAL_LABEL} nodes hold password hashes and are not "
                "available to ad-hoc queries",
                {"reason": "credential", "operator": op},
            )
        if op in UNANCHORED_OPERATORS:
            raise QueryRejected(
                f"{op} can reach every node, including the credential store; give each "
                "node pattern a label, such as (n:User) or (n:User|Post|Comment)",
                {"reason": "unanchored", "operator": op},
            )
        if op == "ProcedureCall":
            name = details.split("(", 1)[0].strip()
            if name in ALLOWED_DBMS_PROCEDURES:
                continue
            if name.startswith(DENIED_PROCEDURE_PREFIXES) or name in await _dbms_procedure_names(
                probe, database
            ):
                raise QueryRejected(
                    f"procedure {name} acts on the server, not the graph; it is not "
                    "available to ad-hoc queries",
                    {"reason": "procedure", "procedure": name},
                )
    if seen is not None:
        seen["plan"] = plan
    return notes


# Neo4j's memory guards (`dbms.memory.transaction.total.max`, `db.memory.transaction.max`,
# the heap): Neo.TransientError.General.<one of these>.
MEMORY_ERRORS = frozenset(
    {
        "MemoryPoolOutOfMemoryError",
        "TransactionMemoryLimit",
        "TransactionOutOfMemoryError",
        "OutOfMemoryError",
    }
)


def _is_memory(exc: Neo4jError) -> bool:
    return (exc.code or "").rsplit(".", 1)[-1] in MEMORY_ERRORS


def _is_timeout(exc: Neo4jError) -> bool:
    code = exc.code or ""
    return "TransactionTimedOut" in code or code.endswith("Transaction.Terminated")


def rejected(exc: Exception, timeout: float) -> Exception:
    """Translate a driver error from an analyst query into a data-layer error."""
    if isinstance(exc, Neo4jError):
        code = exc.code or ""
        message = exc.message or str(exc)
        if _is_timeout(exc):
            return QueryRejected(
                f"the query exceeded its {timeout:g} s timeout and Neo4j terminated it ({message})",
                {"neo4j_code": code, "reason": "timeout"},
            )
        if _is_memory(exc):
            return QueryRejected(
                "Neo4j refused the query: it needs more memory than the server allows "
                f"({message}). Running it again fails the same way; aggregate earlier, "
                "add LIMIT or narrow the MATCH",
                {"neo4j_code": code, "reason": "memory"},
            )
        if isinstance(exc, ClientError) or code.startswith("Neo.DatabaseError.Statement."):
            return QueryRejected(message, {"neo4j_code": code})
        return map_neo4j_error(exc)
    if isinstance(exc, UNREACHABLE):
        return Unavailable("the graph database is unavailable; retry shortly")
    if isinstance(exc, DriverError | TypeError | ValueError):
        # e.g. a parameter value the driver cannot send
        return QueryRejected(f"the query could not be sent: {exc}", {"reason": "driver"})
    return exc


async def run_read(
    graph: Graph,
    query: Query | str,
    params: Mapping[str, Any],
    *,
    timeout: float,
    row_cap: int,
    check: bool,
    max_bytes: int | None = None,
) -> AdhocResult:
    """Run one query through the executor's analyst read (`Graph.capped_read`: rolled
    back, READ, server timeout, row cap, byte cap) on `graph.database`.

    `check=True` adds the EXPLAIN plan check (ad-hoc text); catalog queries skip it.
    Text (not a catalog `Query`) is analyst text. Checked EXPLAIN text returns its plan.
    """
    query = analyst_query(query) if isinstance(query, str) else query
    if timeout <= 0:
        raise QueryRejected("timeout must be positive", {"reason": "timeout"})
    if row_cap < 0:
        raise QueryRejected("row_cap must not be negative", {"reason": "row_cap"})
    started = time.perf_counter()
    seen: dict[str, Any] = {}

    async def plan_check(probe: Probe, text: str = query.text) -> list[str]:
        return await _check_plan(probe, text, params, graph.database, seen)

    try:
        async with asyncio.timeout(timeout + _BACKSTOP_GRACE):
            got = await graph.capped_read(
                query,
                params,
                timeout=timeout,
                row_cap=row_cap,
                max_bytes=max_bytes,
                check=plan_check if check else None,
            )
    except TimeoutError as exc:
        raise QueryRejected(
            f"the query exceeded its {timeout:g} s timeout and the server did not stop it; "
            "the connection was dropped",
            {"reason": "timeout"},
        ) from exc
    except (Neo4jError, DriverError, OSError, TypeError, ValueError) as exc:
        raise rejected(exc, timeout) from exc
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    plan = seen.get("plan") if explain_text(query.text)[1] else None
    return AdhocResult(
        got.columns,
        got.rows,
        got.truncated,
        elapsed_ms,
        got.notes,
        None if plan is None else plan_tree(plan),
    )


async def run_adhoc(
    graph: Graph,
    text: str,
    params: dict[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    row_cap: int = DEFAULT_ROW_CAP,
    max_bytes: int | None = None,
) -> AdhocResult:
    """Run analyst Cypher read-only with a server timeout, a row cap and (optionally) a cap
    on the result's JSON bytes.

    `params` go to Neo4j as parameters, never into the text. Raises `QueryRejected`
    (writes, administrative commands, LOAD CSV, credentials, syntax errors, timeouts, a
    result over `max_bytes`, Neo4j's memory guard) and `Unavailable`; never changes the
    graph.
    """
    precheck(text)
    return await run_read(
        graph,
        analyst_query(text),
        params or {},
        timeout=timeout,
        row_cap=row_cap,
        check=True,
        max_bytes=max_bytes,
    )
