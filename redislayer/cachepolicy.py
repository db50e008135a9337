"""Each kind of cached read, declared once: its name, its TTL and the counters it depends on.

A `CachePolicy` is all the cache needs to know about a read (docs/caching.md):

- `kind`: the key segment (`sg:cache3:<kind>:...`) and the `kind` label of the metrics;
- `ttl`: seconds before jitter (+-20%);
- the counters its entries are stamped with. An entry is served only while they hold the
  values it was computed under, so a write that bumps one hides the entry at once:
  - per-user versions `sg:ver:<version>:<user>`: one for each user the entry is about
    (`users` names their roles; the entry's key starts with those user ids);
  - global epochs `sg:epoch:<epoch>`, for writes whose reach is too wide to enumerate:
    `epochs` stamp every entry, `request_epochs` only the entries of requests that name
    them (decided before the read), `answer_epochs` only answers that depend on them
    (decided after the computation, recorded with the entry, checked on every hit);
  - `epoch:all` stamps every entry of every kind (account deletion, Redis repair).
- `fenced`: entries are served only by a Redis that was re-armed since it last started
  (the restart fence of `redislayer/cache.py`): a bump lost while Redis was down (or in
  the last second before a crash) can never leave a stale entry of this kind served.

`Cache.read` turns a policy into keys; `api/invalidate.py` bumps counters by the `Version`
and `Epoch` names below, so a read or a bump of an undeclared name fails the type check.
tests/test_cache_policy.py checks the table: every kind declared once, every counter that
a kind depends on bumped by some write, no write bumping a counter nobody reads.

Adding a cached read: its name in `CacheKind`, its policy below and in `POLICIES`, and a
call to `Cache.read`. A new counter also needs its name in `Version` or `Epoch` and a
write in `api/invalidate.py` that bumps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from redislayer import rkeys

CacheKind = Literal["auth", "perm", "prof", "sugg", "popular", "feed"]
Version = Literal["auth", "perm", "prof", "sugg", "feed"]  # sg:ver:<version>:<user>
Epoch = Literal["all", "sugg", "feed", "feedfof", "degree", "popular"]  # sg:epoch:<epoch>
NegativeKind = Literal["user"]  # sg:neg:<kind>:<id>: ids known not to exist (cache.py)

ALL: Epoch = "all"  # every entry depends on it


@dataclass(frozen=True)
class CachePolicy:
    kind: CacheKind
    ttl: float
    version: Version | None = None
    users: tuple[str, ...] = ()
    epochs: tuple[Epoch, ...] = ()
    request_epochs: tuple[Epoch, ...] = ()
    answer_epochs: tuple[Epoch, ...] = ()
    fenced: bool = False

    def __post_init__(self) -> None:
        if self.kind not in get_args(CacheKind):
            raise ValueError(f"cache kind {self.kind!r} is not in CacheKind")
        if self.ttl <= 0:
            raise ValueError(f"{self.kind}: the TTL must be positive")
        if (self.version is None) != (not self.users):
            raise ValueError(f"{self.kind}: per-user versions need both `version` and `users`")
        named = [*self.epochs, *self.request_epochs, *self.answer_epochs]
        if ALL in named or len(set(named)) != len(named):
            raise ValueError(f"{self.kind}: epochs listed twice (epoch:all is implicit)")

    def version_keys(self, users: Sequence[str], epochs: Iterable[Epoch] = ()) -> list[str]:
        """The counters an entry for `users` is stamped with, in stamp order (after
        `epoch:all`, which `Cache.get_or_compute` puts first)."""
        if len(users) != len(self.users):
            raise ValueError(f"{self.kind} is about {self.users}, got {len(users)} user ids")
        extra = list(epochs)
        if undeclared := [e for e in extra if e not in self.request_epochs]:
            raise ValueError(f"{self.kind} declares no request epoch {undeclared}")
        per_user = [rkeys.version(self.version, u) for u in users] if self.version else []
        return per_user + [rkeys.epoch(e) for e in (*self.epochs, *extra)]

    def answer_key(self, epoch: Epoch) -> str:
        if epoch not in self.answer_epochs:
            raise ValueError(f"{self.kind} declares no answer epoch {epoch!r}")
        return rkeys.epoch(epoch)

    def answer_keys(self) -> list[str]:
        return [rkeys.epoch(e) for e in self.answer_epochs]

    def counters(self) -> set[str]:
        """Every counter some entry of this kind may depend on, as `ver:<v>` / `epoch:<e>`."""
        epochs = (ALL, *self.epochs, *self.request_epochs, *self.answer_epochs)
        found = {f"epoch:{e}" for e in epochs}
        return found | ({f"ver:{self.version}"} if self.version else set())


# Who a token's subject is now (token version, roles): every authenticated request.
# Fenced: a revocation (logout, role change, deletion) made while Redis was down applies on
# the first request after Redis returns, on every worker (docs/caching.md).
AUTH = CachePolicy("auth", ttl=60.0, version="auth", users=("user",), fenced=True)
# What decides whether `sender` may message `recipient`: every message send.
PERM = CachePolicy("perm", ttl=300.0, version="perm", users=("sender", "recipient"))
# A public profile as a given viewer sees it.
PROF = CachePolicy("prof", ttl=300.0, version="prof", users=("viewer", "target"))
# Friend suggestions. Jaccard answers read candidates' degrees; cold-start answers, the
# popular pool's members' state.
SUGG = CachePolicy(
    "sugg",
    ttl=300.0,
    version="sugg",
    users=("user",),
    epochs=("sugg",),
    answer_epochs=("degree", "popular"),
)
# The cold-start pool, one entry for everyone. Deliberately not tied to `epoch:popular`
# (any friendship bumps it, a recompute scans every user): it may lag by a minute.
POPULAR = CachePolicy("popular", ttl=60.0)
# Feed pages. Friends-of-friends answers reach too far to enumerate per user; `top` feeds
# are computed per minute, and the minute is part of the key (not a counter).
FEED = CachePolicy(
    "feed",
    ttl=60.0,
    version="feed",
    users=("user",),
    epochs=("feed",),
    request_epochs=("feedfof",),
)

POLICIES: dict[CacheKind, CachePolicy] = {
    p.kind: p for p in (AUTH, PERM, PROF, SUGG, POPULAR, FEED)
}
