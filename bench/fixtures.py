"""What the benchmark prepares in the graph and Redis before measuring. Its statements
live in `queries/bench/` and run through the executor's sync face; all of them are
idempotent (SET on existing users), so a reused graph can be prepared again.

Only the benchmark's own stack is touched: `check_bench_stack` refuses the dev and test
stacks (their ports, or a state dir not named `bench*`) unless explicitly allowed.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from neo4j import Driver

from api import security
from core.config import Settings
from graph.db import SyncGraph
from seeds.synthetic import user_id

PROTECTED_PORTS = {7687, 7688, 6379, 6380}


class NotBenchStack(Exception):
    pass


def check_bench_stack(settings: Settings, allow_other: bool) -> None:
    ports = {settings.neo4j_port, settings.redis_port}
    problems = []
    if ports & PROTECTED_PORTS:
        problems.append(f"ports {sorted(ports & PROTECTED_PORTS)} belong to the dev/test stacks")
    if not settings.state_dir.name.startswith("bench"):
        problems.append(f"state dir {settings.state_dir} is not a bench stack")
    if problems and not allow_other:
        raise NotBenchStack(
            "the benchmark writes to the graph and flushes Redis; refusing: "
            + "; ".join(problems)
            + " (pass --yes to override)"
        )


@dataclass
class User:
    id: str
    handle: str
    token_version: int
    degree: int


@dataclass
class Tokens:
    """Access tokens issued without a login, re-issued before they expire mid-run."""

    settings: Settings
    refresh_after_s: float = 600.0
    _cache: dict[str, tuple[float, str]] = field(default_factory=dict)

    def bearer(self, user: User) -> str:
        now = time.monotonic()
        hit = self._cache.get(user.id)
        if hit is None or now - hit[0] > self.refresh_after_s:
            token, _ = security.issue(self.settings, user.id, user.token_version, "access")
            hit = (now, token)
            self._cache[user.id] = hit
        return f"Bearer {hit[1]}"


def read(driver: Driver, database: str, query: str, **params: Any) -> list[dict[str, Any]]:
    """Catalog query `query` (`area.name`) in a read transaction."""
    return SyncGraph(driver, database).read(query, **params)


def write(driver: Driver, database: str, query: str, **params: Any) -> list[dict[str, Any]]:
    """Catalog query `query` (`area.name`) in a write transaction."""
    return SyncGraph(driver, database).write(query, **params)


def graph_counts(driver: Driver, database: str) -> dict[str, int]:
    rows = read(driver, database, "seed.graph_counts")
    return {k: int(v) for k, v in rows[0].items()}


def users(driver: Driver, database: str, ids: list[str]) -> list[User]:
    """The users in `ids` order; missing ids are left out."""
    rows = {r["id"]: r for r in read(driver, database, "bench.user_info", ids=ids)}
    return [
        User(r["id"], r["handle"], int(r["token_version"]), int(r["degree"]))
        for i in ids
        if (r := rows.get(i)) is not None
    ]


@dataclass(frozen=True)
class Cohorts:
    """Disjoint user samples, each for one use (ids `syn-<n>`, uniformly at random)."""

    cold: list[str]  # cold suggestions and feeds: a distinct user per request
    warm: list[str]  # warm (cached) suggestions and feeds: a small set asked repeatedly
    warmup: list[str]  # unrecorded warm-up requests
    senders: list[str]
    recipients: list[str]
    logins: list[str]


def sample_cohorts(n_users: int, seed: int, sizes: dict[str, int]) -> Cohorts:
    total = sum(sizes.values())
    if total > n_users:
        raise ValueError(f"need {total:,} distinct users, the graph has {n_users:,}")
    picked = random.Random(seed).sample(range(n_users), total)  # noqa: S311 - a sample
    out: dict[str, list[str]] = {}
    at = 0
    for name in ("cold", "warm", "warmup", "senders", "recipients", "logins"):
        out[name] = [user_id(n) for n in picked[at : at + sizes[name]]]
        at += sizes[name]
    return Cohorts(**out)


def open_inboxes(driver: Driver, database: str, ids: list[str]) -> int:
    return int(write(driver, database, "bench.open_inboxes", ids=ids)[0]["n"])


def set_passwords(driver: Driver, database: str, logins: list[User]) -> dict[str, str]:
    """Real peppered Argon2id hashes (the API's own hasher and pepper keys) for a few users;
    returns handle -> password. Passwords are random per run; the hashes replace earlier ones."""
    passwords = {u.handle: secrets.token_urlsafe(12) for u in logins}
    stored = {u.handle: security.hash_password(passwords[u.handle]) for u in logins}
    rows: list[dict[str, Any]] = [
        {
            "id": u.id,
            "password_hash": stored[u.handle].hash,
            "pepper_id": stored[u.handle].pepper_id,
            "roles": [],
        }
        for u in logins
    ]
    write(driver, database, "seed.set_credentials", rows=rows)
    return passwords
