"""The distribution installs and runs from anywhere (issue 11's packaging fix).

Builds the wheel from a copy of the sources, installs it with its dependencies into a
fresh virtual environment outside the repository, and from a directory outside the
repository runs `socialgraph query --list`, `db migrate` and `seed demo` against the
test stack: the answers must equal the source tree's. Before the fix the wheel had no
`queries/`, so the installed CLI listed an empty catalog, applied 0 schema statements
and failed the seed with "no query 'seed.graph_counts'".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from graph.analytics import list_catalog
from graph.queries import catalog
from seeds.common import graph_counts
from seeds.demo import seed_demo
from tests.conftest import wipe

pytestmark = pytest.mark.integration  # both tests share a wheel built and pip-installed

ROOT = Path(__file__).resolve().parent.parent
# What the build needs; nothing else of the checkout goes into the copy.
SOURCES: tuple[str, ...] = ("pyproject.toml", "README.md", "core", "graph", "redislayer")
SOURCES += ("api", "seeds", "socialgraph", "queries")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The `bin/` of a fresh venv holding the wheel and its dependencies."""
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(base / "dist"), str(src)],
        check=True,
        timeout=600,
    )
    (wheel,) = (base / "dist").glob("socialgraph-*.whl")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    venv_pip = [str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*venv_pip, "install", str(wheel)],
        check=True,
        timeout=900,
    )
    shutil.rmtree(src)  # nothing of the sources is left to fall back on
    yield bin_dir


def run_installed(bin_dir: Path, cwd: Path, settings: Settings, *args: str) -> str:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env.update(
        SOCIALGRAPH_ENV=settings.env,
        NEO4J_URI=settings.neo4j_uri,
        NEO4J_PASSWORD=settings.neo4j_password,
        REDIS_URL=settings.redis_url,
        COLUMNS="400",  # rich would wrap the catalog table at 80
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
    )
    result = subprocess.run(
        [str(bin_dir / "socialgraph"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def test_the_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(installed / "python"), "-c", "import graph.queries as m; print(m.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(out).is_relative_to(installed.parent), out
    assert not Path(out).is_relative_to(ROOT), out


def test_installed_cli_matches_the_source_tree(
    installed: Path, tmp_path: Path, settings: Settings, neo: Any, rds: Any
) -> None:
    listing = run_installed(installed, tmp_path, settings, "query", "--list")
    names = [entry.name for entry in list_catalog()]
    assert names, "the source tree's catalog is empty"
    missing = [n for n in names if not re.search(rf"\b{re.escape(n)}\b", listing)]
    assert missing == [], listing

    migrated = run_installed(installed, tmp_path, settings, "db", "migrate")
    schema = len(catalog().area("schema"))
    assert schema > 0
    assert f"{schema} statements applied" in migrated, migrated

    # The same seed from the source tree, then from the installed CLI on a wiped graph.
    seed_demo(neo, database=settings.neo4j_database, show_progress=False)
    from_sources = graph_counts(neo, settings.neo4j_database)
    wipe(neo, rds)
    run_installed(installed, tmp_path, settings, "seed", "demo", "--no-progress")
    from_wheel = graph_counts(neo, settings.neo4j_database)
    assert from_sources["users"] > 0 and from_sources["posts"] > 0
    assert from_wheel == from_sources
