"""Password hashes are out of analysts' reach and useless if read anyway.

Issue 12, finding 2: five ad-hoc queries returned a user's stored salt and digest
through `POST /v1/analytics/cypher`. Credentials now live on `:Credential` nodes the
ad-hoc plan check refuses to touch, and each stored hash is Argon2id over an
HMAC-SHA256 pepper of the password, so a copy without the API's key confirms nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from typer.testing import CliRunner

from api.main import create_app
from core import passwords
from core.config import Settings
from graph.db import open_async_driver
from graph.export import export_graph
from graph.queries import catalog
from graph.schema import migrate
from socialgraph.cli import app as cli
from tests.factories import U, api_user, graph_users

PASSWORD = "correct horse battery"

# The five bypasses found in the attack (issue 12, finding 2), with $k = 'password_hash'.
BYPASSES = [
    "MATCH (u:User {id: $id}) RETURN substring(u[$k], 1) AS x",
    "MATCH (u:User {id: $id}) RETURN ' ' + u[$k] AS x",
    "MATCH (u:User {id: $id}) RETURN toUpper(u[$k]) AS x",
    "MATCH (u:User {id: $id}) RETURN split(u['pass'+'word_hash'], '$') AS x",
    "MATCH (u:User {id: $id}) "
    "RETURN [k IN keys(u) WHERE k STARTS WITH 'pass' | reverse(u[k])] AS x",
]


def stored_hash(neo: Any, user_id: str) -> str:
    """The stored Argon2 string of a user, wherever this version of the code keeps it."""
    recs, _, _ = neo.execute_query(
        "MATCH (u:User {id: $id}) OPTIONAL MATCH (c:Credential {user_id: $id}) "
        "RETURN coalesce(c.hash, u.password_hash) AS h",
        id=user_id,
    )
    h: str = recs[0]["h"]
    assert h.startswith("$argon2id$"), h
    return h


def leaks(text: str, stored: str) -> bool:
    """Whether `text` carries the salt or the digest of `stored`, as is, case-changed or
    reversed (every transformation the attack used)."""
    salt, digest = stored.split("$")[-2:]
    for secret in (salt, digest):
        core = secret[2:14]
        for form in (core, core.upper(), core.lower(), core[::-1], core.upper()[::-1]):
            if form in text or form in text.upper():
                return True
    return False


async def analyst(neo: Any, settings: Settings) -> U:
    (a,) = graph_users(neo, settings, 1, prefix="analyst")
    neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=a.id)
    return a


@pytest.mark.parametrize("query", BYPASSES)
async def test_issue_bypasses_do_not_reveal_the_hash(
    client: httpx.AsyncClient, neo: Any, settings: Settings, query: str
) -> None:
    victim = await api_user(client, "victim", PASSWORD)
    stored = stored_hash(neo, victim.id)
    a = await analyst(neo, settings)
    r = await client.post(
        "/v1/analytics/cypher",
        json={"query": query, "params": {"id": victim.id, "k": "password_hash"}},
        headers=a.headers,
    )
    assert r.status_code in (200, 400), r.text
    assert not leaks(r.text, stored), r.text


async def test_a_stolen_hash_confirms_no_password_offline(
    client: httpx.AsyncClient, neo: Any
) -> None:
    """An attacker holding the stored value and the right password (top of any wordlist)
    cannot confirm the guess with plain Argon2id: the password is peppered with a key
    only the API holds."""
    victim = await api_user(client, "victim", PASSWORD)
    stored = stored_hash(neo, victim.id)
    with pytest.raises(VerificationError):
        PasswordHasher().verify(stored, PASSWORD)


def test_leak_check_sees_every_transformation() -> None:
    stored = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0"
    salt = "c2FsdHNhbHRzYWx0"
    for text in (stored[1:], " " + stored, stored.upper(), json.dumps(stored.split("$")),
                 stored[::-1]):  # fmt: skip
        assert leaks(text, stored), text
    assert not leaks("[redacted]", stored) and not leaks(salt[:5], stored)


# The credential store itself, attacked the same ways: every plan that could reach a
# :Credential node is refused, whatever the spelling.
STORE_ATTACKS = [
    ("MATCH (c:Credential) RETURN c.hash AS x", {}, "credential"),
    ("MATCH (c:`Credential`) RETURN properties(c) AS x", {}, "credential"),
    ("MATCH (c IS Credential) RETURN c AS x", {}, "credential"),
    ("MATCH (n:User|Credential) RETURN [k IN keys(n) | toString(n[k])] AS x", {}, "credential"),
    ("MATCH (u:User {id: $id}) OPTIONAL MATCH (c:Credential {user_id: u.id}) "
     "RETURN reverse(c[$k]) AS x", {"k": "hash"}, "credential"),
    ("MATCH (n) RETURN n AS x", {}, "unanchored"),
    ("MATCH (n) WHERE n.user_id = $id RETURN [k IN keys(n) | reverse(toString(n[k]))] AS x",
     {}, "unanchored"),
    ("MATCH (u:User {id: $id}) MATCH (n) WHERE n.user_id = u.id RETURN toUpper(n[$k]) AS x",
     {"k": "hash"}, "unanchored"),
    ("MATCH (n:!User&!Post&!Comment) RETURN properties(n) AS x", {}, "unanchored"),
    ("MATCH (n:%) RETURN n[$k] AS x", {"k": "hash"}, "unanchored"),
    ("MATCH (n:$($label)) RETURN n[$k] AS x", {"label": "Credential", "k": "hash"},
     "unanchored"),
    ("MATCH (n) WHERE id(n) IN range(0, 1000) RETURN n[$k] AS x", {"k": "hash"}, "unanchored"),
    ("MATCH (n) WHERE elementId(n) IN $ids RETURN n[$k] AS x", {"ids": [], "k": "hash"},
     "unanchored"),
    ("RETURN COLLECT { MATCH (n) RETURN substring(n[$k], 1) } AS x", {"k": "hash"},
     "unanchored"),
    ("MATCH (u:User {id: $id}) RETURN EXISTS { MATCH (n) WHERE n[$k] STARTS WITH '$a' } AS x",
     {"k": "hash"}, "unanchored"),
    ("MATCH (u:User {id: $id}) CALL (u) { MATCH (n) WHERE n.user_id = u.id RETURN n } "
     "RETURN n.hash AS x", {}, "unanchored"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "params", "reason"), STORE_ATTACKS)
async def test_the_credential_store_is_out_of_reach(
    client: httpx.AsyncClient,
    neo: Any,
    settings: Settings,
    query: str,
    params: dict[str, Any],
    reason: str,
) -> None:
    victim = await api_user(client, "victim", PASSWORD)
    stored = stored_hash(neo, victim.id)
    a = await analyst(neo, settings)
    r = await client.post(
        "/v1/analytics/cypher",
        json={"query": query, "params": {"id": victim.id, **params}},
        headers=a.headers,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["details"]["reason"] == reason, r.text
    assert not leaks(r.text, stored)


async def test_ordinary_analyst_queries_still_run(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    await api_user(client, "victim", PASSWORD)
    a = await analyst(neo, settings)
    for query in (
        "MATCH (u:User) RETURN u ORDER BY u.handle",
        "MATCH (n:User|Post|Comment) RETURN labels(n) AS l, count(*) AS n",
        "MATCH (u:User)-[r]-(x) RETURN type(r), count(x)",
        "CALL db.labels() YIELD label RETURN label",
    ):
        r = await client.post("/v1/analytics/cypher", json={"query": query}, headers=a.headers)
        assert r.status_code == 200, (query, r.text)


# ------------------------------------------------------------------ the other analyst paths


def test_no_catalog_query_outside_login_touches_credentials() -> None:
    """Named queries, `socialgraph query` and the export run catalog files only: just the
    login, registration, deletion, operator, seeding and schema files may name the credential
    store."""
    allowed = {
        "users.create",
        "users.credentials_by_handle",
        "users.replace_password_hash",
        "users.delete",
        # Operators' commands (socialgraph user ...): whether a password is set, set one.
        "users.account_by_handle",
        "users.accounts",
        "users.set_password",
        "seed.set_credentials",
        "schema.011_credential_user_unique",
        "schema.012_move_password_hashes_off_users",
    }
    queries = catalog()
    touching = {
        name
        for name in queries
        if "Credential" in queries[name].text or "password" in queries[name].text.lower()
    }
    assert touching == allowed


async def test_named_queries_cli_and_export_carry_no_hash(
    client: httpx.AsyncClient, neo: Any, settings: Settings, tmp_path: Any
) -> None:
    victim = await api_user(client, "victim", PASSWORD)
    stored = stored_hash(neo, victim.id)
    a = await analyst(neo, settings)
    r = await client.post(
        "/v1/analytics/queries/ego_network_1",
        json={"params": {"user_id": victim.id}},
        headers=a.headers,
    )
    assert r.status_code == 200 and "victim" in r.text and not leaks(r.text, stored), r.text
    result = CliRunner().invoke(cli, ["query", "ego_network_1", "-p", f"user_id={victim.id}",
                                      "-f", "json"])  # fmt: skip
    assert result.exit_code == 0 and "victim" in result.stdout, result.output
    assert not leaks(result.stdout, stored)
    for fmt in ("graphml", "json"):
        path = tmp_path / f"g.{fmt}"
        with path.open("w", encoding="utf-8") as fh:
            export_graph(neo, fmt, fh, database=settings.neo4j_database)
        text = path.read_text()
        assert "victim" in text and not leaks(text, stored)


# ------------------------------------------------------------------ peppers and rotation

K1 = "first-pepper-key-0123456789abcdef0123456789"
K2 = "second-pepper-key-0123456789abcdef012345678"


def test_pepper_check_and_rotation() -> None:
    one = passwords.Peppers("k1", {"k1": K1.encode()})
    stored = passwords.hash_password(PASSWORD, one)
    assert stored.pepper_id == "k1" and stored.hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.check(stored, PASSWORD, one) == (True, False)
    assert passwords.check(stored, "wrong password", one) == (False, False)
    assert passwords.check(None, PASSWORD, one) == (False, False)
    # Another key of the same id does not verify: the key, not the id, is the secret.
    assert (
        passwords.check(stored, PASSWORD, passwords.Peppers("k1", {"k1": K2.encode()})).ok is False
    )
    # Rotation: k2 current, k1 kept: the old hash verifies and asks to be rehashed.
    both = passwords.Peppers("k2", {"k1": K1.encode(), "k2": K2.encode()})
    assert passwords.check(stored, PASSWORD, both) == (True, True)
    fresh = passwords.hash_password(PASSWORD, both)
    assert fresh.pepper_id == "k2" and passwords.check(fresh, PASSWORD, both) == (True, False)
    # k1 retired: hashes still made with it no longer verify.
    assert (
        passwords.check(stored, PASSWORD, passwords.Peppers("k2", {"k2": K2.encode()})).ok is False
    )
    # A hash from before peppers verifies against the bare password, and asks for a rehash.
    legacy = passwords.StoredPassword(passwords.HASHER.hash(PASSWORD), None)
    assert passwords.check(legacy, PASSWORD, both) == (True, True)


def test_pepper_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="PASSWORD_PEPPER_ID"):
        Settings(PASSWORD_PEPPER_ID="nope")
    with pytest.raises(ValueError, match="PASSWORD_PEPPERS"):
        Settings(
            SOCIALGRAPH_ENV="production",
            JWT_SECRET="j" * 40,
            NEO4J_PASSWORD="not-the-dev-one",
            METRICS_TOKEN="m" * 40,
        )
    s = Settings(PASSWORD_PEPPERS={"k1": K1, "k2": K2}, PASSWORD_PEPPER_ID="k2")
    assert passwords.Peppers.from_settings(s).current == "k2"


async def login(client: httpx.AsyncClient, handle: str, password: str) -> int:
    r = await client.post("/v1/auth/token", data={"username": handle, "password": password})
    return r.status_code


def credential(neo: Any, user_id: str) -> tuple[str, str | None]:
    recs, _, _ = neo.execute_query(
        "MATCH (c:Credential {user_id: $id}) RETURN c.hash AS h, c.pepper_id AS p", id=user_id
    )
    return recs[0]["h"], recs[0]["p"]


async def test_login_rehashes_with_the_current_key(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """Key rotation end to end: a user registered under the `dev` key logs in to an API
    whose current key is k2 (dev kept): the login succeeds and the stored hash is now a
    k2 hash; an API that no longer holds k2 refuses the password."""
    victim = await api_user(client, "victim", PASSWORD)
    old_hash, old_pepper = credential(neo, victim.id)
    assert old_pepper == "dev"
    rotated = settings.model_copy(
        update={
            "password_peppers": {**settings.password_peppers, "k2": K2},
            "password_pepper_id": "k2",
        }
    )
    app2 = create_app(rotated)
    async with app2.router.lifespan_context(app2):
        transport = httpx.ASGITransport(app=app2)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c2:
            assert await login(c2, "victim", "wrong password") == 401
            assert credential(neo, victim.id) == (old_hash, "dev")
            assert await login(c2, "victim", PASSWORD) == 200
            new_hash, new_pepper = credential(neo, victim.id)
            assert new_pepper == "k2" and new_hash != old_hash
            assert await login(c2, "victim", PASSWORD) == 200
    assert await login(client, "victim", PASSWORD) == 401  # the old API lacks k2


async def test_hashes_on_user_nodes_move_to_credentials_and_get_peppered(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """A graph from before :Credential: the startup migration moves the hash off the user
    node, the login still works and stores a peppered hash."""
    (u,) = graph_users(neo, settings, 1, prefix="legacy")
    neo.execute_query(
        "MATCH (u:User {id: $id}) SET u.password_hash = $h",
        id=u.id,
        h=passwords.HASHER.hash(PASSWORD),
    )
    driver = await open_async_driver(settings)
    try:
        await migrate(driver, settings.neo4j_database)
        await migrate(driver, settings.neo4j_database)  # idempotent
    finally:
        await driver.close()
    recs, _, _ = neo.execute_query(
        "MATCH (u:User {id: $id}) RETURN u.password_hash AS h, "
        "COUNT { MATCH (c:Credential {user_id: $id}) } AS n",
        id=u.id,
    )
    assert recs[0]["h"] is None and recs[0]["n"] == 1
    assert credential(neo, u.id)[1] is None
    assert await login(client, u.handle, PASSWORD) == 200
    h, pepper = credential(neo, u.id)
    assert pepper == "dev"
    with pytest.raises(VerificationError):
        PasswordHasher().verify(h, PASSWORD)
    assert await login(client, u.handle, PASSWORD) == 200


async def test_deleting_an_account_deletes_its_credential(
    client: httpx.AsyncClient, neo: Any
) -> None:
    victim = await api_user(client, "victim", PASSWORD)
    r = await client.delete("/v1/users/me", headers=victim.headers)
    assert r.status_code == 204, r.text
    recs, _, _ = neo.execute_query("MATCH (c:Credential) RETURN count(c) AS n")
    assert recs[0]["n"] == 0
