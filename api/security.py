"""Password hashing (HMAC pepper + Argon2id: `core/passwords.py`) and JWTs (HS256 pinned;
exp, iss, aud checked).

Tokens carry the user's `token_version`; bumping it in the graph (logout, account
deletion) makes every earlier token fail, access and refresh alike. Refresh tokens also
carry their login's family (`fam`): each is usable once (rotation with reuse detection,
`redislayer/tokenfamily.py`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from core import passwords
from core.config import Settings, get_settings

ALGORITHM = "HS256"  # pinned: decode() accepts nothing else, so alg=none and RS/HS confusion fail
TokenType = Literal["access", "refresh"]


def hash_password(password: str, settings: Settings | None = None) -> passwords.StoredPassword:
    """A new credential made with the current pepper (of `settings`, else the process's)."""
    return passwords.hash_password(
        password, passwords.Peppers.from_settings(settings or get_settings())
    )


def check_password(
    stored: passwords.StoredPassword | None, password: str, settings: Settings | None = None
) -> passwords.Check:
    """(ok, rehash): see `core.passwords.check`. Takes as long for an unknown handle."""
    return passwords.check(
        stored, password, passwords.Peppers.from_settings(settings or get_settings())
    )


def verify_password(
    stored: passwords.StoredPassword | None, password: str, settings: Settings | None = None
) -> bool:
    return check_password(stored, password, settings).ok


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    sub: str
    ver: int
    typ: TokenType
    exp: int
    jti: str = ""
    # A refresh token's family (one per login; redislayer/tokenfamily.py). A refresh token
    # issued before families existed is a family of its own: its `jti`.
    fam: str = ""


def new_token_id() -> str:
    return uuid.uuid4().hex


def issue(
    settings: Settings,
    user_id: str,
    version: int,
    typ: TokenType,
    *,
    jti: str | None = None,
    family: str | None = None,
) -> tuple[str, int]:
    """A signed token and its lifetime (s). A refresh token carries `family` as `fam`
    (a new family, i.e. a new login, if None)."""
    now = int(time.time())
    ttl = (
        settings.access_token_minutes * 60
        if typ == "access"
        else settings.refresh_token_days * 86400
    )
    payload: dict[str, Any] = {
        "sub": user_id,
        "ver": version,
        "typ": typ,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": jti or new_token_id(),
    }
    if typ == "refresh":
        payload["fam"] = family or new_token_id()
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHM), ttl


LEEWAY_S = 5
_VERIFIED_MAX = 10_000
# Tokens this process has verified, until they expire. A client sends the same access
# token with every request, and pyjwt's checks are a sizeable part of a cached request's
# CPU. Only successful decodes are kept, keyed by everything the verification used, so a
# hit is exactly as strong as verifying again; revocation is the principal check's job
# (token_version), which runs on every request either way.
_verified: dict[tuple[str, str, str, str, str], Claims] = {}


def decode(settings: Settings, token: str, expected: TokenType) -> Claims:
    key = (token, expected, settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience)
    claims = _verified.get(key)
    if claims is not None and time.time() <= claims.exp + LEEWAY_S:
        return claims
    claims = _decode(settings, token, expected)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()  # bounded; refilled by the next requests at the old cost
    _verified[key] = claims
    return claims


def _decode(settings: Settings, token: str, expected: TokenType) -> Claims:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired; log in again or refresh it") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("the token is invalid") from exc
    # NumericDate as issued: pyjwt converts with int()/float(), so "1900000000" or 1.9e9
    # would pass; bool is an int subclass and is refused too.
    if any(name in payload and type(payload[name]) is not int for name in ("exp", "iat", "nbf")):
        raise TokenError("the token is invalid")
    if payload.get("typ") != expected:
        raise TokenError(f"expected {'an' if expected == 'access' else 'a'} {expected} token")
    ver = payload.get("ver")
    sub = payload.get("sub")
    if not isinstance(ver, int) or not isinstance(sub, str):
        raise TokenError("the token is invalid")
    jti = payload.get("jti", "")
    fam = payload.get("fam", jti)
    if not isinstance(jti, str) or not isinstance(fam, str):
        raise TokenError("the token is invalid")
    return Claims(sub=sub, ver=ver, typ=expected, exp=int(payload["exp"]), jti=jti, fam=fam)
