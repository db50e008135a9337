"""`socialgraph seed ...`: demo, synthetic and real-data graph builders."""

from __future__ import annotations

import typer

seed_app = typer.Typer(help="Build demo and real graphs in Neo4j", no_args_is_help=True)
