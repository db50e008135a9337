"""Register, log in (OAuth2 password flow), refresh, log out everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from api import security, services
from api.deps import CacheDep, CurrentUser, GraphDep, RedisDep, SettingsDep, unauthorized
from api.errors import responses
from api.schemas import RefreshIn, Token, UserCreate, UserPrivate
from graph import users
from redislayer import ratelimit, tokenfamily

router = APIRouter(tags=["auth"])


def client_ip(request: Request) -> str:
    """The socket peer's address. Proxy headers are not trusted (`socialgraph serve` runs
    uvicorn with proxy_headers=False), so behind a reverse proxy every client is the proxy's
    address: run uvicorn with --forwarded-allow-ips set to the proxy there (docs/hardening.md)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class TokenForm:
    """The token endpoint's form, checked for its grant: `username` and `password` for
    `password` (the default, OAuth2's password flow), `refresh_token` for
    `refresh_token` (RFC 6749 section 6)."""

    grant_type: Literal["password", "refresh_token"]
    username: str = ""
    password: str = ""
    refresh_token: str = ""


def token_form(
    grant_type: Annotated[
        Literal["password", "refresh_token"] | None,
        Form(description="`password` (the default) or `refresh_token`"),
    ] = None,
    username: Annotated[str | None, Form(description="The handle (grant `password`)")] = None,
    password: Annotated[
        str | None, Form(description="grant `password`", json_schema_extra={"format": "password"})
    ] = None,
    refresh_token: Annotated[
        str | None,
        Form(max_length=4096, description="grant `refresh_token`: the refresh token to use up"),
    ] = None,
    scope: Annotated[str, Form(description="Ignored (no scopes)")] = "",
    client_id: Annotated[str | None, Form(description="Ignored")] = None,
    client_secret: Annotated[
        str | None, Form(description="Ignored", json_schema_extra={"format": "password"})
    ] = None,
) -> TokenForm:
    """A field the grant needs and the form lacks is a 422 like any missing field."""
    grant = grant_type or "password"
    given = {"username": username, "password": password, "refresh_token": refresh_token}
    needed = ("refresh_token",) if grant == "refresh_token" else ("username", "password")
    missing = [name for name in needed if given[name] is None]
    if missing:
        raise RequestValidationError(
            [
                {
                    "type": "missing",
                    "loc": ("body", name),
                    "msg": f"Field required for grant_type={grant}",
                    "input": None,
                }
                for name in missing
            ]
        )
    return TokenForm(grant, username or "", password or "", refresh_token or "")


def _tokens(
    settings: SettingsDep,
    user_id: str,
    version: int,
    family: str | None = None,
    refresh_id: str | None = None,
) -> Token:
    """An access token and a refresh token of `family` (a new one: a login) with the id
    `refresh_id` (the family's next, after a rotation)."""
    access, ttl = security.issue(settings, user_id, version, "access")
    refresh, rttl = security.issue(
        settings, user_id, version, "refresh", jti=refresh_id, family=family
    )
    return Token(
        access_token=access, expires_in=ttl, refresh_token=refresh, refresh_expires_in=rttl
    )


@router.post(
    "/users",
    operation_id="registerUser",
    summary="Create an account",
    response_model=UserPrivate,
    status_code=status.HTTP_201_CREATED,
    responses=responses(
        400, 409, 429, notes={409: "handle taken", 429: "too many registrations from here"}
    ),
)
async def register(
    body: UserCreate, graph: GraphDep, settings: SettingsDep, redis: RedisDep, request: Request
) -> UserPrivate:
    """Create an account (no token needed); then log in at `POST /v1/auth/token`.
    Rate-limited per client address (REGISTER_RATE_PER_IP_PER_HOUR)."""
    ip = client_ip(request)
    await ratelimit.hit(
        redis,
        f"ip:{ip}",
        "register",
        settings.register_rate_per_ip_per_hour,
        3600,
        local_fallback=True,
    )
    password_hash = await run_in_threadpool(security.hash_password, body.password, settings)
    user = await users.create(
        graph,
        handle=body.handle,
        display_name=body.display_name,
        bio=body.bio,
        password_hash=password_hash,
    )
    return UserPrivate(**user)


@router.post(
    "/auth/token",
    operation_id="login",
    summary="Log in",
    response_model=Token,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {"username": "alice", "password": "demo-password-1"}
                }
            }
        }
    },
    responses=responses(400, 401, 429, notes={401: "bad login", 429: "too many attempts"}),
)
async def login(
    form: Annotated[TokenForm, Depends(token_form)],
    graph: GraphDep,
    settings: SettingsDep,
    redis: RedisDep,
    request: Request,
) -> Token:
    """OAuth2 password flow. Rate-limited per client address across handles
    (LOGIN_RATE_PER_IP_PER_MINUTE) and per address and handle (LOGIN_RATE_PER_MINUTE).
    `grant_type=refresh_token` with a `refresh_token` field refreshes instead, exactly as
    `POST /v1/auth/refresh` does (rotation, reuse detection; 503 without Redis)."""
    if form.grant_type == "refresh_token":
        return await _rotate(graph, settings, redis, form.refresh_token)
    if len(form.password) > 128 or len(form.username) > 64:
        raise unauthorized("incorrect handle or password")
    ip = client_ip(request)
    await ratelimit.hit_all(
        redis,
        [
            ratelimit.Limit(f"ip:{ip}", "login", settings.login_rate_per_ip_per_minute, 60),
            ratelimit.Limit(
                f"{ip}:{form.username.lower()}", "login", settings.login_rate_per_minute, 60
            ),
        ],
        local_fallback=True,
    )
    creds = await users.credentials(graph, form.username)
    ok = await services.check_login(graph, settings, creds, form.password)
    if not creds or not ok:
        raise unauthorized("incorrect handle or password")
    return _tokens(settings, creds["id"], creds["token_version"])


@router.post(
    "/auth/refresh",
    operation_id="refreshToken",
    summary="Refresh the tokens",
    response_model=Token,
    responses=responses(
        400,
        401,
        notes={
            401: "invalid, revoked or already used refresh token (a used one revokes "
            "every refresh token of its login)",
            503: "Redis unavailable: the refresh token was not used up; retry",
        },
    ),
)
async def refresh(
    body: RefreshIn, graph: GraphDep, settings: SettingsDep, redis: RedisDep
) -> Token:
    """Rotation: the answer holds a new refresh token and the one presented is used up.
    Presenting a used one again revokes every refresh token descended from the same login
    (RFC 9700; redislayer/tokenfamily.py). Needs Redis: 503 while it is down."""
    return await _rotate(graph, settings, redis, body.refresh_token)


async def _rotate(graph: GraphDep, settings: SettingsDep, redis: RedisDep, token: str) -> Token:
    """Use up a refresh token for new tokens (both refresh routes)."""
    try:
        claims = security.decode(settings, token, "refresh")
    except security.TokenError as exc:
        raise unauthorized(str(exc)) from exc
    row = await users.principal(graph, claims.sub)
    if row is None or row["token_version"] != claims.ver or not claims.jti:
        raise unauthorized("the refresh token was revoked; log in again")
    successor = security.new_token_id()
    lifetime = settings.refresh_token_days * 86400
    outcome = await tokenfamily.rotate(
        redis, claims.fam, claims.sub, claims.jti, successor, lifetime
    )
    if outcome == "reused":
        raise unauthorized(
            "refresh token reuse detected: it was used before, so every refresh token of "
            "this login is revoked; log in again"
        )
    if outcome == "revoked":
        raise unauthorized("this login's refresh tokens were revoked after a reuse; log in again")
    return _tokens(settings, row["id"], row["token_version"], claims.fam, successor)


@router.post(
    "/auth/logout",
    operation_id="logout",
    summary="Log out everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401),
)
async def logout(user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """Revoke every access and refresh token of the current user."""
    await services.revoke_tokens(graph, cache, user.id)
