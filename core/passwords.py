"""Password hashing for the API and the seeds: a keyed pepper, then Argon2id.

What is stored for a password (on a `:Credential` node, never on `:User`):

    hash       Argon2id(base64(HMAC-SHA256(pepper[pepper_id], password)))
               with OWASP's parameters (m=19 MiB, t=2, p=1), as a PHC string
    pepper_id  which pepper key was used; null for a hash from before peppers

The pepper keys come from the environment (`PASSWORD_PEPPERS`, `PASSWORD_PEPPER_ID` in
`core.config`) and are held by the API process only, never by Neo4j. A copy of the stored
value (a leaked backup, an analyst query) is useless offline: checking a guess needs the
pepper, so a wordlist attack cannot even start (OWASP Password Storage Cheat Sheet,
"Peppering"). HMAC first also keeps Argon2's input a fixed 44 characters.

Rotation: add a new key, make it current, keep the old ones. `check` verifies a hash with
the key its `pepper_id` names and reports `rehash=True` when that is not the current key
(or the Argon2 parameters changed, or the hash predates peppers); the login path then
stores a new hash made with the current key. A key can be dropped once no credential
names it (docs/hardening.md, "Credentials").

Pure functions, no I/O: `api/` and `seeds/` both import this (floor 0).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.config import Settings

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)
_DUMMY_PASSWORD = "not-a-real-password-for-timing"  # noqa: S105


@dataclass(frozen=True)
class StoredPassword:
    """What the graph keeps for one password."""

    hash: str
    pepper_id: str | None  # None: Argon2id of the bare password (before peppers)


@dataclass(frozen=True)
class Peppers:
    """The pepper keys: `current` hashes new passwords; every key verifies."""

    current: str
    keys: Mapping[str, bytes]

    @classmethod
    def from_settings(cls, settings: Settings) -> Peppers:
        return _peppers(settings.password_pepper_id, tuple(settings.password_peppers.items()))


@lru_cache(maxsize=8)
def _peppers(current: str, items: tuple[tuple[str, str], ...]) -> Peppers:
    keys = {k: v.encode() for k, v in items}
    if current not in keys:
        raise ValueError(f"pepper {current!r} is not among the keys {sorted(keys)}")
    return Peppers(current, keys)


class Check(NamedTuple):
    ok: bool
    rehash: bool  # ok, but the hash should be replaced by one made with `hash_password`


def _peppered(password: str, key: bytes) -> str:
    return base64.b64encode(hmac.new(key, password.encode(), hashlib.sha256).digest()).decode()


def hash_password(password: str, peppers: Peppers) -> StoredPassword:
    key = peppers.keys[peppers.current]
    return StoredPassword(HASHER.hash(_peppered(password, key)), peppers.current)


@lru_cache(maxsize=8)
def _dummy_hash(key: bytes) -> str:
    return HASHER.hash(_peppered(_DUMMY_PASSWORD, key))


def _waste_time(password: str, peppers: Peppers) -> Check:
    """As long as a real check, for nothing: the answer must not tell which handles exist."""
    key = peppers.keys[peppers.current]
    _verify(_dummy_hash(key), _peppered(password, key))
    return Check(False, False)


def check(stored: StoredPassword | None, password: str, peppers: Peppers) -> Check:
    """Verify `password` against `stored`. With nothing stored (unknown handle, a user
    without a password) a dummy hash is verified instead, so the answer takes as long and
    does not tell which handles exist."""
    if stored is None:
        return _waste_time(password, peppers)
    if stored.pepper_id is None:
        candidate = password
    else:
        key = peppers.keys.get(stored.pepper_id)
        if key is None:  # a retired key: the user must reset the password
            return _waste_time(password, peppers)
        candidate = _peppered(password, key)
    if not _verify(stored.hash, candidate):
        return Check(False, False)
    rehash = stored.pepper_id != peppers.current or HASHER.check_needs_rehash(stored.hash)
    return Check(True, rehash)


def _verify(hash_: str, candidate: str) -> bool:
    try:
        return HASHER.verify(hash_, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
