"""The query loader: declared params match the body; calls with missing or unknown
params are refused; malformed files fail at load time naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.queries import Catalog, QueryFileError, QueryParamError, catalog, parse_query_file

GOOD = """// name: by_id
// params: $user_id, $limit
// returns: user
// mode: read
MATCH (u:User {id: $user_id}) RETURN u LIMIT $limit
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "area" / f"{name}.cypher"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_real_catalog_loads_and_every_file_has_a_header() -> None:
    cat = catalog()
    assert "system.ping" in cat
    assert len(cat.area("schema")) >= 5
    for query in cat.values():
        assert query.mode in ("read", "write", "schema")
        assert query.path.stem == query.name


def test_bind_accepts_exact_params(tmp_path: Path) -> None:
    q = parse_query_file(write(tmp_path, "by_id", GOOD), "area")
    assert q.bind({"user_id": "u1", "limit": 5}) == {"user_id": "u1", "limit": 5}


def test_bind_rejects_missing_param(tmp_path: Path) -> None:
    q = parse_query_file(write(tmp_path, "by_id", GOOD), "area")
    with pytest.raises(QueryParamError, match=r"missing \['limit'\]"):
        q.bind({"user_id": "u1"})


def test_bind_rejects_extra_param(tmp_path: Path) -> None:
    q = parse_query_file(write(tmp_path, "by_id", GOOD), "area")
    with pytest.raises(QueryParamError, match=r"unknown \['role'\]"):
        q.bind({"user_id": "u1", "limit": 5, "role": "admin"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("// mode: read\n", ""), "header lacks"),
        (GOOD.replace("// mode: read", "// mode: sometimes"), "mode must be one of"),
        (GOOD.replace("$user_id, $limit", "$user_id"), "do not match the body"),
        (GOOD.replace("$user_id, $limit", "$user_id, $limit, $ghost"), "do not match"),
        (GOOD.replace("// name: by_id", "// name: other"), "does not match the file name"),
        (GOOD.replace("// returns: user", "// returns user"), "malformed header line"),
        (GOOD.replace("// returns: user", "// colour: blue"), "unknown header key"),
        (GOOD + "; MATCH (n) DETACH DELETE n", "more than one statement"),
        ("// name: by_id\n// params: none\n// returns: x\n// mode: read\n", "no query body"),
        (GOOD.replace("$user_id, $limit", "user_id, $limit"), "bad parameter declaration"),
    ],
)
def test_malformed_file_fails_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "by_id", text)
    with pytest.raises(QueryFileError, match=message) as info:
        Catalog(tmp_path)
    assert str(path) in str(info.value)


def test_params_inside_strings_and_comments_do_not_count(tmp_path: Path) -> None:
    text = GOOD.replace("RETURN u", "// $not_a_param\nRETURN u, '$nor_this' AS s")
    q = parse_query_file(write(tmp_path, "by_id", text), "area")
    assert q.params == {"user_id", "limit"}
