"""The Makefile's two commands end tidily: `make test` stops its stack however pytest ends
and keeps pytest's exit status; `make run` says how to stop everything, and Ctrl+C (SIGINT
to the terminal's foreground process group) stops the API cleanly and says how to stop
Neo4j and Redis, which keep running by design (README, "Two commands").

Most cases run the real Makefile with stand-ins for `socialgraph` and `pytest` (`SG=` and
`BIN=`), so they need no server; the last one serves the real API on the test stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from tests.apiproc import free_port

ROOT = Path(__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without an outer make's: `make test PYTEST_ARGS=...` exports its
    command-line variables to recipes, and MAKEFLAGS hands them to every nested make."""
    inherited = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    inherited |= {"PYTEST_ARGS", "TEST_ENV", "API_PORT", "SG", "BIN", "VENV", "PYTHON"}
    return {**{k: v for k, v in os.environ.items() if k not in inherited}, **extra}


FAKE = """#!{python}
# A stand-in for `socialgraph` / `pytest`: logs each call (with the stack it targets) and
# behaves as the test asks through FAKE_* variables.
import os, signal, sys, time
name = os.path.basename(sys.argv[0])
args = " ".join(sys.argv[1:])
def log(line):
    with open(os.environ["FAKE_LOG"], "a") as f:
        f.write(line + "\\n")
log(f"{{name}} {{args}}".strip() + f" @{{os.environ.get('SOCIALGRAPH_STATE_DIR', '-')}}")
def wait_for_sigint(on_stop, code):
    def stop(*_):
        log(on_stop)
        sys.exit(code)
    signal.signal(signal.SIGINT, stop)
    print("fake: running", flush=True)
    while True:
        signal.pause()
if name == "pytest":
    if os.environ.get("FAKE_PYTEST_WAIT"):
        wait_for_sigint("pytest interrupted", 2)
    sys.exit(int(os.environ.get("FAKE_PYTEST_EXIT", "0")))
if args.startswith("serve"):
    wait_for_sigint("serve stopped cleanly", 0)
"""


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("socialgraph", "pytest"):
        path = bin_dir / name
        path.write_text(FAKE.format(python=sys.executable))
        path.chmod(0o755)
    return bin_dir


def make(target: str, *, sg: Path, bin_dir: Path, log: Path, **env: str) -> subprocess.Popen[str]:
    """`make TARGET` in the checkout, in its own process group (as a terminal runs it),
    with bootstrap taken as done (-o) so nothing is installed."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "-o", "bootstrap", target, f"SG={sg}", f"BIN={bin_dir}"],
        cwd=ROOT,
        env=clean_env(FAKE_LOG=str(log), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    """Output up to the line holding `marker` (or all of it, if the process ends first)."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            break
    return "".join(seen)


def ctrl_c(proc: subprocess.Popen[str]) -> str:
    """SIGINT to the whole foreground group, as Ctrl+C in a terminal; the rest of the output."""
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    return out


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines()


TEST_STATE = f"@{ROOT}/.state/test"


@pytest.mark.parametrize("status", [0, 3])
def test_make_test_stops_its_stack_and_keeps_pytests_status(
    fakes: Path, tmp_path: Path, status: int
) -> None:
    log = tmp_path / "calls.log"
    proc = make(
        "test", sg=fakes / "socialgraph", bin_dir=fakes, log=log, FAKE_PYTEST_EXIT=str(status)
    )
    out, _ = proc.communicate(timeout=120)
    assert calls(log) == [
        f"socialgraph dev up {TEST_STATE}",
        f"pytest {TEST_STATE}",
        f"socialgraph dev down {TEST_STATE}",
    ]
    if status == 0:
        assert proc.returncode == 0, out
    else:
        assert proc.returncode != 0 and f"Error {status}" in out, out


def test_make_test_interrupted_still_stops_its_stack(fakes: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    proc = make("test", sg=fakes / "socialgraph", bin_dir=fakes, log=log, FAKE_PYTEST_WAIT="1")
    assert "fake: running" in read_until(proc, "fake: running")
    out = ctrl_c(proc)
    assert proc.returncode != 0, out
    assert calls(log)[-2:] == ["pytest interrupted", f"socialgraph dev down {TEST_STATE}"]


def test_make_run_says_how_to_stop_and_ctrl_c_stops_the_api(fakes: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    proc = make("run", sg=fakes / "socialgraph", bin_dir=fakes, log=log)
    before = read_until(proc, "fake: running")
    assert "Ctrl+C stops the API" in before and "'make down' stops them" in before, before
    out = ctrl_c(proc)
    assert "API stopped. Neo4j and Redis still run: make down stops them." in out, out
    names = [line.rsplit(" @", 1)[0] for line in calls(log)]
    assert names == [
        "socialgraph dev up",
        "socialgraph db migrate",
        "socialgraph seed demo",
        "socialgraph serve --host 127.0.0.1 --port 8000",
        "serve stopped cleanly",
    ]


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`make run` with the real `socialgraph` on the test stack (the environment points
    there) and a free port."""
    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "-o", "bootstrap", "run", f"API_PORT={port}"],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_ctrl_c_stops_the_real_api_cleanly(
    served: tuple[subprocess.Popen[str], int], settings: Settings
) -> None:
    proc, port = served
    before = read_until(proc, "Application startup complete", timeout=180)
    assert f"Serving http://127.0.0.1:{port}" in before, before
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    out = ctrl_c(proc)
    assert "Application shutdown complete" in out, out  # uvicorn ran the lifespan's end
    assert "API stopped. Neo4j and Redis still run: make down stops them." in out, out
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
