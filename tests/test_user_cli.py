"""`socialgraph user create | set-password | list | delete`: accounts from the shell, with
the API's hashing, graph functions and revocation; the password never an argument."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from core.config import Settings
from seeds.edgelist import load_edgelist
from socialgraph.cli import app
from tests.factories import api_user, graph_users
from tests.test_erasure import keys_holding, open_to_everyone
from tests.test_inbox import send

runner = CliRunner()


def cli(*args: str, input: str | None = None) -> Result:
    result = runner.invoke(app, ["user", *args], input=input)
    assert "Traceback" not in result.output, result.output
    return result


async def login(client: httpx.AsyncClient, handle: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": handle, "password": password})


async def test_an_edge_list_user_logs_in_after_set_password(
    client: httpx.AsyncClient, neo: Any, tmp_path: Path
) -> None:
    path = tmp_path / "edges.txt"
    path.write_text("1 2\n2 3\n")
    load_edgelist(neo, path, source="facebook", show_progress=False)
    assert (await login(client, "facebook_2", "a fresh password")).status_code == 401

    result = cli("set-password", "Facebook_2", "--password-stdin", input="a fresh password\n")
    assert result.exit_code == 0, result.output
    assert "facebook_2: password set" in result.stdout

    r = await login(client, "facebook_2", "a fresh password")
    assert r.status_code == 200, r.text
    me = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["id"] == "facebook-2"
    assert (await login(client, "facebook_1", "a fresh password")).status_code == 401


async def test_set_password_revokes_tokens_and_replaces_the_old_password(
    client: httpx.AsyncClient,
) -> None:
    u = await api_user(client, "carol", "the old password")
    assert (await client.get("/v1/users/me", headers=u.headers)).status_code == 200

    result = cli("set-password", "carol", input="the new password\nthe new password\n")
    assert result.exit_code == 0, result.output
    assert "the new password" not in result.output  # not echoed

    assert (await client.get("/v1/users/me", headers=u.headers)).status_code == 401
    assert (await login(client, "carol", "the old password")).status_code == 401
    assert (await login(client, "carol", "the new password")).status_code == 200


async def test_create_prompts_twice_and_the_user_logs_in(client: httpx.AsyncClient) -> None:
    # A mistyped confirmation is asked again; the password is never echoed.
    typed = "first password\nfirst passwort\nfirst password\nfirst password\n"
    result = cli("create", "Dora", "--display-name", "Dora D.", input=typed)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("Password") == 2 and "do not match" in result.output
    assert "first password" not in result.stdout.replace("Password", "")
    r = await login(client, "dora", "first password")
    assert r.status_code == 200, r.text
    me = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["display_name"] == "Dora D."

    again = cli("create", "DORA", "--password-stdin", input="another password\n")
    assert again.exit_code == 1 and "the handle 'DORA' is taken" in again.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["create", "bob", "secret-password"], "", "Got unexpected extra argument"),
        (["create", "bob", "--password", "secret-password"], "", "No such option"),
        (["set-password", "bob", "secret-password"], "", "Got unexpected extra argument"),
        (["create", "b!", "--password-stdin"], "long enough pw\n", "handle must be"),
        (["create", "bobby", "--password-stdin"], "short\n", "password must be 10-128"),
        (["create", "bobby", "--password-stdin"], "", "standard input is empty"),
    ],
)
def test_the_password_is_never_an_argument_and_input_is_checked(
    args: list[str], stdin: str, message: str
) -> None:
    result = cli(*args, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_unknown_handle_fails_naming_it(settings: Settings) -> None:
    result = cli("set-password", "nobody", "--password-stdin", input="long enough pw\n")
    assert result.exit_code == 1 and "no user with handle 'nobody'" in result.output
    result = cli("delete", "nobody", "--yes")
    assert result.exit_code == 1 and "no user with handle 'nobody'" in result.output


async def test_list_pages_through_every_account(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    loaded = graph_users(neo, settings, 5)  # no credential
    made = await api_user(client, "puser_with_pw")
    hidden = await client.patch("/v1/users/me", json={"discoverable": False}, headers=made.headers)
    assert hidden.status_code == 200

    seen: list[dict[str, Any]] = []
    args = ["list", "--prefix", "PUSER", "--limit", "2", "--format", "json"]
    pages = 0
    while True:
        result = cli(*args)
        assert result.exit_code == 0, result.output
        page = json.loads(result.stdout)
        assert len(page) <= 2
        seen += page
        pages += 1
        if "--cursor" not in result.stderr:
            break
        args = ["list", *result.stderr.split("socialgraph user list ", 1)[1].split()]
    assert pages == 3
    handles = [u["handle"] for u in seen]
    assert handles == sorted([u.handle for u in loaded] + ["puser_with_pw"])
    assert {u["handle"]: u["has_password"] for u in seen}["puser_with_pw"] is True
    assert not any(u["has_password"] for u in seen if u["handle"] != "puser_with_pw")
    assert all("hash" not in str(u) for u in seen)

    table = cli("list")
    assert table.exit_code == 0 and "puser_with_pw" in table.stdout
    bad = cli("list", "--cursor", "not-a-cursor")
    assert bad.exit_code == 2 and "cursor" in bad.output
    assert cli("list", "--limit", "101").exit_code == 2


async def test_delete_asks_then_erases_like_the_api(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    d, o = graph_users(neo, settings, 2)
    await open_to_everyone(client, d, o)
    assert (await send(client, d, o, "secret-of-d")).status_code == 201
    assert (await client.get("/v1/users/me", headers=d.headers)).status_code == 200

    no = cli("delete", d.handle, input="n\n")
    assert no.exit_code == 1 and "not deleted" in no.output
    assert (await client.get("/v1/users/me", headers=d.headers)).status_code == 200

    yes = cli("delete", d.handle.upper(), input="y\n")
    assert yes.exit_code == 0, yes.output
    assert f"Deleted {d.handle}" in yes.stdout
    assert (await client.get("/v1/users/me", headers=d.headers)).status_code == 401
    assert keys_holding(settings, b"secret-of-d") == []  # messages erased, as the API does
    assert cli("list", "--prefix", d.handle, "-f", "json").stdout.strip() == "[]"
