"""Property-based fuzzing of every documented operation with Schemathesis (in-process ASGI).

One pytest case per operation, each from a clean graph with a small seeded world (see
`World`), MAX_EXAMPLES generated requests per operation and phase, derandomized so a CI
run is reproducible. Requests carry a valid bearer token (an analyst's for /v1/analytics).
Checks, and why these:

- not_a_server_error: no 5xx at all (the stack is up, so a 503 is a bug here too);
- status_code_conformance: every status returned is documented for its route;
- response_schema_conformance: 2xx bodies match their models, error bodies match the one
  error body `{"error": {"code", "message", "details"}}` (`api.errors.ErrorBody`);
- content_type_conformance, response_headers_conformance.

Left out on purpose: negative_data_rejection and positive_data_acceptance (they equate
"valid by the schema" with "accepted": a well-formed random id is a 404, a second friend
request a 409, by design), and the stateful phase (no OpenAPI links are declared).

Rerun: see docs/hardening.md. SCHEMATHESIS_REPORT=<file> writes the status tally there.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import CheckFunction
from schemathesis.python import asgi

from api.main import create_app
from core.config import Settings
from seeds import bulk
from tests.factories import U, graph_users, token_headers

pytestmark = pytest.mark.hardening

MAX_EXAMPLES = 25
SEEN: defaultdict[str, Counter[int]] = defaultdict(Counter)


@schemathesis.check
def tally(ctx: Any, response: Any, case: Any) -> bool | None:
    """Not a check: counts statuses per operation for the report in docs/hardening.md."""
    SEEN[f"{case.method.upper()} {case.operation.path}"][response.status_code] += 1
    return None


CHECKS: list[CheckFunction] = [
    tally,
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
]

# The document is built without I/O. The app's lifespan (Neo4j driver, Redis pool) starts
# on the first call, on Schemathesis's own event-loop thread, and stops after the module.
APP = create_app()
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


class World:
    """What the fuzzer acts on. Generated ids are often short ("0"), so the seeded user,
    post and comment with id "0" let many generated requests reach success paths (accept
    a pending request, like, comment, delete, message) instead of stopping at 404.

    - `me` (fz000) is friends with fz001, who is friends with fz002 (a suggestion for me);
    - user "0" accepts messages from everyone and has a pending friend request to me;
    - post "0" is mine with comment "0" by user "0"; fz001 has post "p1", which I liked;
    - one message from me to "0" exists (history, read pointers, unread counts).

    Operations that end a session (logout, account deletion) act as a fresh user each
    time, so the shared token stays valid for every other case.
    """

    def __init__(self, neo: Any, settings: Settings) -> None:
        self.neo = neo
        self.settings = settings
        self.me, self.friend, self.fof = graph_users(neo, settings, 3, prefix="fz")
        bulk.users(neo, [{"id": "0", "handle": "zero0", "who_can_message": "everyone"}])
        (self.analyst,) = graph_users(neo, settings, 1, prefix="fzanalyst")
        neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=self.analyst.id)
        bulk.friendships(
            neo,
            [{"a": self.me.id, "b": self.friend.id}, {"a": self.friend.id, "b": self.fof.id}],
        )
        now = datetime.now(UTC)
        bulk.posts(
            neo,
            [
                {"id": "0", "author_id": self.me.id, "text": "post zero", "created_at": now},
                {"id": "p1", "author_id": self.friend.id, "text": "hello", "created_at": now},
            ],
        )
        bulk.comments(
            neo, [{"id": "0", "user_id": "0", "post_id": "0", "text": "first", "created_at": now}]
        )
        zero = token_headers(settings, "0")
        with asgi.get_client(cast(Any, APP)) as client:
            for method, path, body, headers in [
                ("POST", "/v1/friend-requests", {"user_id": self.me.id}, zero),
                ("PUT", "/v1/posts/p1/like", None, self.me.headers),
                ("POST", "/v1/messages", {"to": "0", "text": "hello zero"}, self.me.headers),
            ]:
                headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                r = client.request(method, path, json=body, headers=headers)
                assert r.status_code in (200, 201), r.text
        self.spent = 0

    def fresh(self) -> U:
        self.spent += 1
        (u,) = graph_users(self.neo, self.settings, 1, prefix=f"fzx{self.spent}_")
        return u

    def headers_for(self, method: str, path: str) -> dict[str, str]:
        if path.startswith("/v1/analytics"):
            return self.analyst.headers
        if (method, path) in {("DELETE", "/v1/users/me"), ("POST", "/v1/auth/logout")}:
            return self.fresh().headers
        return self.me.headers


@pytest.fixture
def world(neo: Any, settings: Settings) -> World:
    return World(neo, settings)


@pytest.fixture(scope="module", autouse=True)
def _app_lifespan() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()
    if path := os.environ.get("SCHEMATHESIS_REPORT"):
        with open(path, "w") as f:
            json.dump({k: dict(sorted(v.items())) for k, v in sorted(SEEN.items())}, f, indent=1)


@pytest.mark.timeout(900)
@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, world: World) -> None:
    case.call_and_validate(headers=world.headers_for(case.method.upper(), case.path), checks=CHECKS)
