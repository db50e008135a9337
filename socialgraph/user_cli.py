"""`socialgraph user ...`: accounts from the shell, for operators.

    socialgraph user create HANDLE [--display-name NAME] [--bio TEXT] [--password-stdin]
    socialgraph user set-password HANDLE [--password-stdin]
    socialgraph user list [--prefix P] [--limit N] [--cursor C] [--format table|json]
    socialgraph user delete HANDLE [--yes]

A password is never a command-line argument (it would sit in the shell history and in
`ps` output): it is asked twice on the terminal, or read as the first line of standard
input with `--password-stdin` (`printf '%s\\n' "$PW" | socialgraph user set-password bob
--password-stdin`). It is checked and hashed as the API does (`api.schemas.Password`,
`api.security.hash_password`: Argon2id over the peppered HMAC, so the CLI needs the same
PASSWORD_PEPPERS as the API).

The commands go through the API's own functions: `graph.users.create`, and
`api.services.delete_account` (messages erased from Redis first, then the graph, then every
cache), and revoke like a logout: `set-password` bumps the token version in the same
transaction as the new hash and announces it (`api.invalidate.principal_changed`), so every
token issued before stops working and the user's open sockets close. Users loaded from data
sets (edge lists, LDBC) have no credential until `set-password` gives them one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from core.config import Settings
from socialgraph.clikit import CliKit, console, err, run

kit = CliKit()
user_app = typer.Typer(help="Accounts: create, set a password, list, delete", no_args_is_help=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"


@dataclass
class Services:
    """What the API's use cases need, opened for one command."""

    graph: Any  # graph.db.Graph
    cache: Any  # redislayer.cache.Cache
    inbox: Any  # redislayer.inbox.Inbox


@asynccontextmanager
async def services(s: Settings) -> AsyncIterator[Services]:
    from redislayer.cache import Cache
    from redislayer.connection import open_redis
    from redislayer.inbox import Inbox

    async with kit.graph(s) as graph:
        redis = open_redis(s)
        cache = Cache(redis)
        try:
            yield Services(graph, cache, Inbox(redis))
        finally:
            await cache.close()
            await redis.aclose()


def _check(adapter: TypeAdapter[str], value: str, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        kit.fail(what, 2)


def valid_handle(handle: str) -> str:
    from api.schemas import Handle

    return _check(TypeAdapter(Handle), handle, "handle must be 3-30 letters, digits or _")


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked twice (not echoed)."""
    from api.schemas import Password

    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            kit.fail("--password-stdin: standard input is empty", 2)
        password = line.removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return _check(TypeAdapter(Password), password, "password must be 10-128 characters")


def _hash(password: str, s: Settings) -> Any:
    from api.security import hash_password

    return hash_password(password, s)


def _warn_unannounced(svc: Services, what: str) -> None:
    if not svc.cache.available:
        from api import services as api_services

        err.print(
            f"[yellow]Redis unreachable: {what} is committed in Neo4j, but running API "
            f"workers may accept old tokens for up to {api_services.PRINCIPAL_TTL:.0f} s."
            "[/yellow]",
            highlight=False,
        )


@user_app.command("create")
def create(
    handle: str = typer.Argument(..., help="3-30 letters, digits or _"),
    display_name: str | None = typer.Option(None, "--display-name", help="Default: the handle"),
    bio: str = typer.Option("", "--bio"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin"
    ),
) -> None:
    """Create an account with a password (as POST /v1/users does, without its rate limit)."""
    from api.schemas import UserCreate
    from core.errors import Conflict
    from graph import users

    valid_handle(handle)
    password = read_password(password_stdin)
    try:
        body = UserCreate(handle=handle, password=password, display_name=display_name, bio=bio)
    except ValidationError as exc:
        first = exc.errors()[0]
        kit.fail(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", 2)
    s = kit.settings()
    stored = _hash(body.password, s)

    async def go() -> dict[str, Any]:
        async with kit.graph(s) as graph:
            return await users.create(
                graph,
                handle=body.handle,
                display_name=body.display_name,
                bio=body.bio,
                password_hash=stored,
            )

    try:
        user = run(go())
    except Conflict:
        kit.fail(f"the handle {handle!r} is taken")
    console.print(f"Created {user['handle']} (id {user['id']}).", highlight=False)


@user_app.command("set-password")
def set_password(
    handle: str = typer.Argument(..., help="User handle (any case)"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin"
    ),
) -> None:
    """Set a user's password (also one loaded from a data set, who has none) and revoke
    every token and session issued before."""
    from api import invalidate
    from graph import users

    s = kit.settings()
    password = read_password(password_stdin)
    stored = _hash(password, s)

    async def go() -> tuple[dict[str, Any], int | None] | None:
        async with services(s) as svc:
            account = await users.account(svc.graph, handle)
            if account is None:
                return None
            version = await users.set_password(svc.graph, account["id"], stored)
            await invalidate.principal_changed(svc.cache, account["id"])
            _warn_unannounced(svc, "the revocation")
            return account, version

    done = run(go())
    if done is None or done[1] is None:
        kit.fail(f"no user with handle {handle!r}")
    account, _ = done
    console.print(
        f"{account['handle']}: password set; tokens issued before are revoked.",
        highlight=False,
    )


@user_app.command("list")
def list_users(
    prefix: str = typer.Option("", "--prefix", help="Handles starting with this (any case)"),
    limit: int = typer.Option(50, "--limit", min=1, max=100, help="Accounts per page"),
    cursor: str | None = typer.Option(None, "--cursor", help="From a previous page"),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", "-f"),
) -> None:
    """Every account by handle (discoverable or not), one page at a time."""
    from core.errors import DomainError
    from graph import users

    s = kit.settings()

    async def go() -> tuple[list[dict[str, Any]], str | None]:
        async with kit.graph(s) as graph:
            return await users.accounts(graph, prefix, limit, cursor)

    try:
        items, nxt = run(go())
    except DomainError as exc:  # a forged or foreign cursor
        kit.fail(exc.message, 2)
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(items, default=str, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table()
        for column in ("handle", "id"):
            table.add_column(column, no_wrap=True)
        for column in ("display name", "roles", "source", "password", "created"):
            table.add_column(column)
        for u in items:
            table.add_row(
                u["handle"],
                u["id"],
                u.get("display_name") or "",
                ", ".join(u["roles"]),
                u.get("source") or "",
                "yes" if u["has_password"] else "no",
                str(u.get("created_at") or "")[:10],
            )
        console.print(table)
    tail = f"{len(items)} accounts"
    if nxt:
        again = [f"--limit {limit}", f"--cursor {nxt}"]
        again += [f"--prefix {prefix}"] if prefix else []
        again += [f"--format {fmt.value}"] if fmt is not ListFormat.table else []
        tail += f"; next page: socialgraph user list {' '.join(again)}"
    err.print(tail, highlight=False, style="dim", soft_wrap=True)


@user_app.command("delete")
def delete(
    handle: str = typer.Argument(..., help="User handle (any case)"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Delete an account as DELETE /v1/users/me does: messages, posts, comments,
    friendships and credential; the user's tokens stop working and sockets close."""
    from api import services as api_services
    from core.errors import Unavailable
    from graph import users

    s = kit.settings()

    async def find() -> dict[str, Any] | None:
        async with kit.graph(s) as graph:
            return await users.account(graph, handle)

    account = run(find())
    if account is None:
        kit.fail(f"no user with handle {handle!r}")
    if not yes and not typer.confirm(
        f"Delete {account['handle']} (id {account['id']}) with their posts, comments and messages?"
    ):
        kit.fail("not deleted", 1)

    async def go() -> None:
        async with services(s) as svc:
            await api_services.delete_account(svc.graph, svc.cache, svc.inbox, account["id"])
            _warn_unannounced(svc, "the deletion")

    try:
        run(go())
    except Unavailable as exc:
        kit.fail(f"{exc.message}; nothing is lost: run the command again")
    console.print(f"Deleted {account['handle']} (id {account['id']}).", highlight=False)
