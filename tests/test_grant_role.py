"""`socialgraph grant-role` changes one user's roles in one write transaction, so changes
made at the same time all apply. (The old command read the roles, changed the list in
Python and wrote it back: of concurrent grants, the last writer won.) The principal
cache side is in test_principal_cache.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from typer.testing import CliRunner

from core.config import Settings
from graph.queries import q
from socialgraph.cli import app, grant_role
from tests.factories import graph_users


def roles_of(neo: Any, settings: Settings, handle: str) -> list[str]:
    recs, _, _ = neo.execute_query(
        q("users.credentials_by_handle").text, handle=handle, database_=settings.neo4j_database
    )
    return list(recs[0]["roles"])


def change_at_once(changes: list[tuple[str, str, bool]]) -> None:
    """Run each (handle, role, revoke) as the command does, all released together."""
    start = threading.Barrier(len(changes))

    def one(change: tuple[str, str, bool]) -> None:
        handle, role, revoke = change
        start.wait()
        grant_role(handle, role, revoke)

    with ThreadPoolExecutor(len(changes)) as pool:
        list(pool.map(one, changes))


def test_concurrent_grants_and_revokes_all_apply(neo: Any, settings: Settings) -> None:
    (u,) = graph_users(neo, settings, 1)
    granted = [f"role{i:02d}" for i in range(12)]
    change_at_once([(u.handle, role, False) for role in granted])
    assert roles_of(neo, settings, u.handle) == granted

    revoked, added = granted[::2], [f"extra{i}" for i in range(6)]
    change_at_once(
        [(u.handle, role, True) for role in revoked] + [(u.handle, role, False) for role in added]
    )
    assert roles_of(neo, settings, u.handle) == sorted(set(granted) - set(revoked) | set(added))


def test_grant_is_idempotent_and_revoke_of_a_missing_role_is_harmless(
    neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1)
    runner = CliRunner()
    for args, roles in (
        (["analyst"], ["analyst"]),
        (["analyst"], ["analyst"]),
        (["admin"], ["admin", "analyst"]),
        (["ghost", "--revoke"], ["admin", "analyst"]),
        (["admin", "--revoke"], ["analyst"]),
    ):
        result = runner.invoke(app, ["grant-role", u.handle.upper(), *args])
        assert result.exit_code == 0, result.output
        assert result.output == f"{u.handle.upper()}: roles = {roles}\n"
        assert roles_of(neo, settings, u.handle) == roles


def test_unknown_handle_fails_naming_it(neo: Any, settings: Settings) -> None:
    result = CliRunner().invoke(app, ["grant-role", "nobody-here", "analyst"])
    assert result.exit_code == 1
    assert "no user with handle 'nobody-here'" in result.output
