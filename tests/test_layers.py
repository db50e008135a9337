"""The floors of the house (docs/architecture.md), checked by walking the imports.

A module may import its own package and packages on lower floors only: no import runs
back up a floor, no two rooms on one floor lean on each other, so there is no cycle
between folders. Imports inside functions count too (a lazy import is still a
dependency). The Cypher check keeps every statement in `queries/`. No server needed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# floor number per top-level package; a higher floor may import a lower one, never back.
FLOORS: dict[str, int] = {
    "core": 0,  # settings, domain errors, metrics
    "graph": 1,  # the Neo4j data layer (executor, query catalog, operations)
    "redislayer": 1,  # the Redis layer (cache, inbox, limits, real-time, keys)
    "api": 2,  # routes, services, schemas, HTTP error mapping
    "seeds": 2,  # demo-graph builders
    "socialgraph": 3,  # entry points: CLIs, local-stack manager, offline evaluation
    "bench": 4,  # the benchmark harness (not packaged: nothing packaged may import it)
}


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) for every project import in a file, however nested."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def violations(root: Path, floors: dict[str, int]) -> list[str]:
    found = []
    for package, floor in floors.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, target in imported_packages(path):
                if target == package or target not in floors:
                    continue
                if floors[target] >= floor:
                    rel = path.relative_to(root)
                    found.append(
                        f"{rel}:{line} imports {target} (floor {floors[target]}) from floor {floor}"
                    )
    return found


def test_every_package_has_a_floor() -> None:
    packaged = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "queries"}
    assert packaged == set(FLOORS), "give a new top-level package a floor in FLOORS"


def test_no_import_runs_up_a_floor() -> None:
    assert violations(ROOT, FLOORS) == []


def test_checker_catches_an_upward_and_a_sideways_import(tmp_path: Path) -> None:
    floors = {"low": 0, "left": 1, "right": 1, "top": 2}
    for name, body in {
        "low": "import top.x\n",  # up two floors
        "left": "def f():\n    from right import y\n",  # sideways, lazily
        "right": "from low import z\n",  # allowed
        "top": "from left import a\nimport low\n",  # allowed
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(body)
    found = sorted(violations(tmp_path, floors))
    assert len(found) == 2
    assert found[0].startswith("left/__init__.py:2 imports right")
    assert found[1].startswith("low/__init__.py:1 imports top")


# Shapes no prose or regex has but every Cypher statement does.
CYPHER = re.compile(
    r"\b(?:OPTIONAL\s+)?MATCH\s*\(|\bMERGE\s*\(|\bCREATE\s*\(|\bUNWIND\s+\$|"
    r"\bRETURN\s+[\w$(*]|\bCALL\s+[a-z][\w.]*\s*\(|\bCALL\s*\(\s*\)\s*\{|"
    r"\bSHOW\s+[A-Z]+\s+YIELD\b|\bDETACH\s+DELETE\b"
)
# The loader parses query files; tests may hold small statements of their own.
CYPHER_ALLOWED = {Path("graph/queries.py")}


def cypher_literals(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and CYPHER.search(node.value)
        ):
            yield node.lineno, node.value.strip().splitlines()[0][:60]


def test_no_cypher_text_in_python_outside_the_loader() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for package in FLOORS
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) not in CYPHER_ALLOWED
        for line, text in cypher_literals(path)
    ]
    assert found == [], "move these statements into queries/<area>/<name>.cypher"


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (u:User) RETURN u",
        "CALL db.awaitIndexes(300)",
        "RETURN 1",
        "SHOW PROCEDURES YIELD name",
        "UNWIND $rows AS row MERGE (u:User {id: row.id})",
    ],
)
def test_the_cypher_check_recognises_statements(text: str) -> None:
    assert CYPHER.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "SHOW TRANSACTIONS exposes other sessions' queries",
        r"(?:CREATE|DROP)\s+(?:OR\s+REPLACE\s+)?",
        "Delete the whole graph first (then the faster CREATE path is used)",
        "return 1 when the match is found",
    ],
)
def test_the_cypher_check_leaves_prose_alone(text: str) -> None:
    assert not CYPHER.search(text)
