"""One home for HTTP models: the OpenAPI document has one `UserRef`."""

from __future__ import annotations

from api.main import create_app
from core.config import Settings


def test_openapi_has_one_user_ref(settings: Settings) -> None:
    names = set(create_app(settings).openapi()["components"]["schemas"])
    assert [n for n in names if n.endswith("UserRef")] == ["UserRef"]
    assert [n for n in names if "__" in n] == []  # no module-qualified duplicates
