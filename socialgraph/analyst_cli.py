"""`socialgraph query ...` and `socialgraph export ...`: the analysts' commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the analyst commands to the main CLI."""
