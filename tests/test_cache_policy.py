"""The cache policy table (redislayer/cachepolicy.py) is complete and consistent: every kind
of cached read is declared once, read through its declaration, and every counter it depends
on is bumped by some write in api/invalidate.py. No server needed: the invalidation
functions run against a cache that records the keys it would bump."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast, get_args, get_type_hints

import pytest

from api import invalidate
from graph.db import Graph
from redislayer import cachepolicy, rkeys
from redislayer.cache import NEGATIVE_TTL, VERSION_TTL, Cache
from redislayer.cachepolicy import (
    FEED,
    POLICIES,
    PROF,
    SUGG,
    CacheKind,
    CachePolicy,
    Epoch,
    Version,
)

ROOT = Path(__file__).resolve().parent.parent
DECLARED = {name: p for name, p in vars(cachepolicy).items() if isinstance(p, CachePolicy)}


def counter(key: str) -> str:
    """`sg:ver:<v>:<user>` -> `ver:<v>`, `sg:epoch:<e>` -> `epoch:<e>`."""
    name = key.removeprefix(f"{rkeys.PREFIX}:")
    return name.rsplit(":", 1)[0] if name.startswith("ver:") else name


def declared_counters() -> set[str]:
    return {c for p in POLICIES.values() for c in p.counters()}


class RecordingCache(Cache):
    """The real bump methods and key functions; `_bump_keys` records instead of writing."""

    def __init__(self) -> None:
        super().__init__(cast(Any, None))
        self.bumped: set[str] = set()

    async def _bump_keys(self, keys: list[str]) -> None:
        self.bumped |= {counter(k) for k in keys}


class Rows:
    """Stands in for the graph reads of api/invalidate.py: `n` affected user ids."""

    def __init__(self, n: int) -> None:
        self.n = n

    async def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return [{"id": f"f{i}"} for i in range(self.n)]


async def bumped_by_writes() -> dict[str, set[str]]:
    """Counters bumped by each public function of api/invalidate.py, with small audiences
    and with audiences above the fan-out cap (which bump epochs instead)."""
    found: dict[str, set[str]] = {}
    for name, fn in inspect.getmembers(invalidate, inspect.iscoroutinefunction):
        if name.startswith("_") or fn.__module__ != invalidate.__name__:
            continue
        found[name] = set()
        for overflow in (False, True):
            cache = RecordingCache()
            graph = cast(Graph, Rows(invalidate.FANOUT_CAP + 1 if overflow else 2))
            args: list[Any] = []
            for i, (param, hint) in enumerate(get_type_hints(fn).items()):
                if param == "return":
                    continue
                by_type: dict[Any, Any] = {
                    Cache: cache,
                    Graph: graph,
                    str: f"u{i}",
                    list[str]: ["u1", "u2"],
                    bool: overflow,
                }
                assert hint in by_type, f"{name}({param}: {hint}): teach this test the type"
                args.append(by_type[hint])
            await fn(*args)
            found[name] |= cache.bumped
    return found


def source_files() -> Iterator[Path]:
    for init in sorted(ROOT.glob("*/__init__.py")):
        if init.parent.name != "tests":
            yield from sorted(init.parent.rglob("*.py"))


def calls(path: Path) -> Iterator[tuple[int, str, ast.Call]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node.lineno, node.func.attr, node


# ------------------------------------------------------------------ the table


def test_every_kind_is_declared_once() -> None:
    assert set(get_args(CacheKind)) == set(POLICIES), "CacheKind and POLICIES disagree"
    assert all(p.kind == kind for kind, p in POLICIES.items())
    assert len(POLICIES) == len(DECLARED), "every CachePolicy goes into POLICIES, once"
    assert {id(p) for p in POLICIES.values()} == {id(p) for p in DECLARED.values()}


def test_ttls_are_positive_and_below_the_version_lifetime() -> None:
    # A version counter expiring restarts at 0 and could revive an entry stamped 0: every
    # entry (TTL with +20% jitter) must expire long before its counters can.
    for p in POLICIES.values():
        assert 0 < p.ttl * 1.2 < VERSION_TTL / 10, p
    assert NEGATIVE_TTL > 0


def test_every_counter_is_read_by_some_kind() -> None:
    named = {f"ver:{v}" for v in get_args(Version)} | {f"epoch:{e}" for e in get_args(Epoch)}
    assert declared_counters() == named, "a Version or Epoch nobody reads, or vice versa"


async def test_every_counter_a_read_depends_on_is_bumped_by_some_write() -> None:
    writes = await bumped_by_writes()
    bumped = set().union(*writes.values())
    assert declared_counters() - bumped == set(), "no write in api/invalidate.py bumps these"
    assert bumped - declared_counters() == set(), "bumped, but no cached read depends on them"


async def test_writes_bump_what_docs_caching_md_says() -> None:
    """The table of docs/caching.md, as the functions behave (overflow included)."""
    writes = await bumped_by_writes()
    expected = {
        "friendship_changed": "ver:sugg ver:feed ver:prof ver:perm "
        "epoch:degree epoch:popular epoch:feedfof epoch:sugg",
        "request_changed": "ver:sugg",
        "dismissed": "ver:sugg",
        "profile_changed": "ver:prof ver:perm epoch:sugg epoch:popular epoch:feed",
        "post_created": "ver:prof ver:feed epoch:feedfof epoch:feed",
        "post_deleted": "ver:prof ver:feed epoch:feedfof epoch:feed",
        "post_audience_changed": "ver:feed epoch:feedfof epoch:feed",
        "post_audience": "",
        "principal_changed": "ver:auth",
        "user_deleted": "epoch:all",
    }
    assert writes == {name: set(counters.split()) for name, counters in expected.items()}


# ------------------------------------------------------------------ the call sites


def test_reads_and_bumps_go_through_the_declaration() -> None:
    """Cached reads call `Cache.read` with a declared policy; bumps happen in
    api/invalidate.py, by declared names. The key-level forms stay inside the cache."""
    raw = {"get_or_compute", "bump", "bump_epoch"}
    bumps = {"bump_versions", "bump_epochs"}
    wrong: list[str] = []
    readers: set[str] = set()
    for path in source_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, attr, call in calls(path):
            if attr in raw and rel != "redislayer/cache.py":
                wrong.append(f"{rel}:{line}: {attr} (use Cache.read and the bump functions)")
            if attr in bumps and rel not in ("api/invalidate.py", "redislayer/cache.py"):
                wrong.append(f"{rel}:{line}: {attr} outside api/invalidate.py")
            if attr == "read" and call.args:
                first = call.args[0]
                name = first.id if isinstance(first, ast.Name) else None
                name = first.attr if isinstance(first, ast.Attribute) else name
                if name in DECLARED:
                    readers.add(name)
    assert wrong == []
    assert set(DECLARED) - readers == set(), "declared, but no call of Cache.read uses them"


# ------------------------------------------------------------------ keys stay as they were


def test_keys_are_those_entries_were_stored_under() -> None:
    """Entries written before the policy table existed are still read: same counters, same
    order in the stamp."""
    assert cachepolicy.AUTH.version_keys(["u"]) == ["sg:ver:auth:u"]
    assert PROF.version_keys(["v", "t"]) == ["sg:ver:prof:v", "sg:ver:prof:t"]
    assert cachepolicy.PERM.version_keys(["s", "r"]) == ["sg:ver:perm:s", "sg:ver:perm:r"]
    assert SUGG.version_keys(["u"]) == ["sg:ver:sugg:u", "sg:epoch:sugg"]
    assert SUGG.answer_keys() == ["sg:epoch:degree", "sg:epoch:popular"]
    assert FEED.version_keys(["u"]) == ["sg:ver:feed:u", "sg:epoch:feed"]
    fof = ["sg:ver:feed:u", "sg:epoch:feed", "sg:epoch:feedfof"]
    assert FEED.version_keys(["u"], ["feedfof"]) == fof
    assert cachepolicy.POPULAR.version_keys([]) == []


def test_a_read_outside_its_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match="user ids"):
        PROF.version_keys(["viewer only"])
    with pytest.raises(ValueError, match="request epoch"):
        SUGG.version_keys(["u"], ["feedfof"])
    with pytest.raises(ValueError, match="answer epoch"):
        FEED.answer_key("degree")


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "nope", "ttl": 1.0},
        {"kind": "auth", "ttl": 0.0},
        {"kind": "auth", "ttl": 1.0, "version": "auth"},
        {"kind": "auth", "ttl": 1.0, "users": ("user",)},
        {"kind": "sugg", "ttl": 1.0, "epochs": ("all",)},
        {"kind": "sugg", "ttl": 1.0, "epochs": ("sugg",), "answer_epochs": ("sugg",)},
    ],
)
def test_an_inconsistent_declaration_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CachePolicy(**bad)
