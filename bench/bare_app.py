"""The comparison point for warm suggestions: a bare FastAPI app whose one endpoint returns
a fixed JSON document of the same size, with no auth, no Redis, no Neo4j.

    uvicorn --factory bench.bare_app:app_factory   (bench.run starts it like the API)

The document is read from the file named by BENCH_BARE_PAYLOAD (bench.run writes a real
warm `/v1/suggestions` answer there), else a generated page of 20 suggestions. It is
returned as a dict, so FastAPI serializes it on every request as it does for the API.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI


def sample_page(items: int = 20) -> dict[str, Any]:
    """A suggestions page shaped like the API's (`api.schemas.SuggestionPage`)."""

    def ref(n: int) -> dict[str, str]:
        return {"id": f"syn-{n}", "handle": f"syn_{n}", "display_name": "Maya Rossi"}

    return {
        "items": [
            {
                "user": ref(1000 + i),
                "score": 3.0 / (i + 1),
                "mutual_count": 12 - i // 2,
                "mutual_friends": [ref(10 + i), ref(20 + i), ref(30 + i)],
                "reason": "mutual_friends",
            }
            for i in range(items)
        ],
        "next_cursor": "WyJhZGFtaWNfYWRhciIsIDEuMjM0LCAic3luLTEyMzQ1Il0",
    }


def load_payload() -> dict[str, Any]:
    path = os.environ.get("BENCH_BARE_PAYLOAD")
    if path:
        with open(path, encoding="utf-8") as f:
            payload: dict[str, Any] = json.load(f)
            return payload
    return sample_page()


def app_factory() -> FastAPI:
    payload = load_payload()
    app = FastAPI(title="bench-bare")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/bare")
    async def bare() -> dict[str, Any]:
        return payload

    return app
