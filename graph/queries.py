"""The Cypher query catalog: `queries/<area>/<name>.cypher`, one query per file.

Each file starts with a header of `// key: value` lines:

    // name: friends_of_user
    // description: Friends of a user, ordered by handle.   (optional)
    // params: $user_id, $limit          (or `none`)
    // returns: user                     (free text)
    // mode: read | write | schema

The loader checks the declared parameters against the `$names` used in the body,
so a typo fails at load time, naming the file; `Query.bind` refuses missing and
unknown parameters at call time. This module is the only place where query text is
cast to `LiteralString`: catalog text comes from files shipped in the package, and
analysts' ad-hoc text (`analyst_query`) only ever runs in a read transaction.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, LiteralString, cast

MODES = ("read", "write", "schema")
REQUIRED_KEYS = ("name", "params", "returns", "mode")
KNOWN_KEYS = (*REQUIRED_KEYS, "description")

_HEADER_RE = re.compile(r"^//\s*([a-z_]+)\s*:\s*(.*?)\s*$")
_PARAM_DECL_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_PARAM_USE_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# Strings and comments are removed before looking for `$param` uses.
_STRIP_RE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|//[^\n]*|/\*.*?\*/", re.S)


class QueryFileError(Exception):
    """A query file is malformed. The message names the file."""


class QueryParamError(ValueError):
    """A call passed missing or unknown parameters."""


@dataclass(frozen=True)
class Query:
    name: str
    area: str
    path: Path
    text: LiteralString
    params: frozenset[str]
    returns: str
    mode: str
    description: str = ""
    optional: frozenset[str] = field(default_factory=frozenset)
    # Analyst text (`analyst_query`): its parameters are the analyst's to get right, and
    # Neo4j names a missing one; `bind` passes them through unchecked.
    open_params: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.area}.{self.name}"

    def profiled(self) -> Query:
        """The same query prefixed with PROFILE (the benchmark's plan check)."""
        return replace(self, text="PROFILE " + self.text)

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if self.open_params:
            return dict(params)
        given = set(params)
        missing = self.params - given
        extra = given - self.params
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {sorted(missing)}")
            if extra:
                parts.append(f"unknown {sorted(extra)}")
            raise QueryParamError(
                f"query {self.qualified_name!r}: "
                + ", ".join(parts)
                + f" (declared: {sorted(self.params)})"
            )
        return dict(params)


def analyst_query(text: str, name: str = "adhoc") -> Query:
    """Analyst text as a query (graph/adhoc.py checks it first; read transactions only).

    Cast: analyst text is the product of the analyst role; the read-only transaction is
    the guard, not the type. (mypy treats LiteralString as str and calls the cast
    redundant; pyright does not.)
    """
    return Query(
        name=name,
        area="analyst",
        path=Path("<analyst>"),
        text=cast(LiteralString, text),  # type: ignore[redundant-cast, unused-ignore]
        params=frozenset(),
        returns="columns of the analyst's choosing",
        mode="read",
        open_params=True,
    )


def parse_query_file(path: Path, area: str) -> Query:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryFileError(f"{path}: cannot read query file: {exc}") from exc
    header: dict[str, str] = {}
    lines = raw.splitlines()
    body_start = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            body_start = i + 1
            continue
        m = _HEADER_RE.match(stripped)
        if not m:
            if stripped.startswith("//"):
                raise QueryFileError(f"{path}: malformed header line {i + 1}: {line!r}")
            break
        key, value = m.group(1), m.group(2)
        if key not in KNOWN_KEYS:
            raise QueryFileError(f"{path}: unknown header key {key!r} on line {i + 1}")
        if key in header:
            raise QueryFileError(f"{path}: header key {key!r} given twice")
        header[key] = value
        body_start = i + 1
    missing_keys = [k for k in REQUIRED_KEYS if k not in header]
    if missing_keys:
        raise QueryFileError(
            f"{path}: header lacks {missing_keys} (need // name, params, returns, mode)"
        )
    body = "\n".join(lines[body_start:]).strip()
    if not body:
        raise QueryFileError(f"{path}: no query body after the header")
    if ";" in _STRIP_RE.sub("", body).rstrip().rstrip(";"):
        raise QueryFileError(f"{path}: more than one statement; keep one query per file")
    body = body.rstrip().rstrip(";")
    name = header["name"]
    if name != path.stem:
        raise QueryFileError(f"{path}: header name {name!r} does not match the file name")
    mode = header["mode"]
    if mode not in MODES:
        raise QueryFileError(f"{path}: mode must be one of {MODES}, not {mode!r}")
    declared: set[str] = set()
    if header["params"].lower() != "none":
        for token in (t.strip() for t in header["params"].split(",")):
            pm = _PARAM_DECL_RE.match(token)
            if not pm:
                raise QueryFileError(f"{path}: bad parameter declaration {token!r} (use `$name`)")
            declared.add(pm.group(1))
    used = set(_PARAM_USE_RE.findall(_STRIP_RE.sub(" ", body)))
    if used != declared:
        raise QueryFileError(
            f"{path}: declared params {sorted(declared)} do not match the body's {sorted(used)}"
        )
    return Query(
        name=name,
        area=area,
        path=path,
        text=cast(LiteralString, body),  # type: ignore[redundant-cast, unused-ignore]  # the one cast: text from repository files only
        params=frozenset(declared),
        returns=header["returns"],
        mode=mode,
        description=header.get("description", ""),
    )


def installed_root() -> Path:
    """The `queries` package's folder: package data in an installed wheel, the checkout's
    `queries/` in an editable install. Found by import, never relative to this file."""
    root = importlib.resources.files("queries")
    if not isinstance(root, Path):  # a zipped install: the catalog must be real files
        raise QueryFileError(f"the query catalog is not installed as files: {root!r}")
    return root


class Catalog(Mapping[str, Query]):
    """All queries under a directory, keyed `area.name` (nested folders join with dots)."""

    def __init__(self, root: Path | None = None) -> None:
        root = installed_root() if root is None else root
        self.root = root
        self._queries: dict[str, Query] = {}
        for path in sorted(root.rglob("*.cypher")):
            area = ".".join(path.relative_to(root).parent.parts)
            q = parse_query_file(path, area)
            if q.qualified_name in self._queries:
                raise QueryFileError(f"{path}: duplicate query name {q.qualified_name!r}")
            self._queries[q.qualified_name] = q

    def __getitem__(self, key: str) -> Query:
        try:
            return self._queries[key]
        except KeyError:
            raise KeyError(f"no query {key!r} in {self.root}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)

    def area(self, area: str) -> list[Query]:
        return [q for q in self._queries.values() if q.area == area]


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return Catalog()


def q(qualified_name: str) -> Query:
    return catalog()[qualified_name]
