"""``commonground serve``: the Dagster webserver and daemon against the production instance.

The production instance (``deploy/dagster.yaml``) keeps runs, event logs and schedule state
in PostgreSQL and queues runs so one at a time writes the warehouse. ``serve`` checks what
it needs before starting anything (the PostgreSQL settings, a reachable server, the
pseudonymisation key in production), writes the instance file into ``DAGSTER_HOME`` when it
is not there, parses the dbt project, then runs ``dagster-webserver`` and
``dagster-daemon`` side by side until one of them stops or it is interrupted.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer

from orchestration.cli.app import app, console, current_settings
from orchestration.project import ensure_manifest
from orchestration.settings import REPO_ROOT

PRODUCTION_INSTANCE = REPO_ROOT / "deploy" / "dagster.yaml"
DEVELOPMENT_INSTANCE = REPO_ROOT / "deploy" / "dagster.dev.yaml"
WORKSPACE = REPO_ROOT / "workspace.yaml"

POSTGRES_VARIABLES = (
    "COMMONGROUND_PG_HOST",
    "COMMONGROUND_PG_PORT",
    "COMMONGROUND_PG_DB",
    "COMMONGROUND_PG_USER",
    "COMMONGROUND_PG_PASSWORD",
)


class ServeError(RuntimeError):
    """What stops ``serve`` from starting, in one line."""


def install_instance(dagster_home: Path, source: Path) -> str:
    """Puts ``source`` in ``dagster_home/dagster.yaml`` unless an instance file is there.

    An operator's own ``dagster.yaml`` is kept (and reported when it differs from ours).

    Returns:
        What happened, in a few words.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(source, target)
        return f"wrote {target} from {source.relative_to(REPO_ROOT)}"
    if filecmp.cmp(source, target, shallow=False):
        return f"{target} is {source.relative_to(REPO_ROOT)}"
    return f"kept {target} (it differs from {source.relative_to(REPO_ROOT)})"


def check_postgres(timeout_seconds: int = 5) -> str:
    """Checks the PostgreSQL settings and that the server accepts them.

    Returns:
        ``user@host:port/db`` (never the password).

    Raises:
        ServeError: A variable is missing, or the server cannot be reached or refuses us.
    """
    missing = [name for name in POSTGRES_VARIABLES if not os.environ.get(name)]
    if missing:
        raise ServeError(
            f"{', '.join(missing)} not set: the production instance keeps its runs in "
            "PostgreSQL (see README, 'Running in production')."
        )
    import psycopg2  # deferred: only serve needs the PostgreSQL driver

    where = (
        f"{os.environ['COMMONGROUND_PG_USER']}@{os.environ['COMMONGROUND_PG_HOST']}:"
        f"{os.environ['COMMONGROUND_PG_PORT']}/{os.environ['COMMONGROUND_PG_DB']}"
    )
    try:
        psycopg2.connect(
            host=os.environ["COMMONGROUND_PG_HOST"],
            port=os.environ["COMMONGROUND_PG_PORT"],
            dbname=os.environ["COMMONGROUND_PG_DB"],
            user=os.environ["COMMONGROUND_PG_USER"],
            password=os.environ["COMMONGROUND_PG_PASSWORD"],
            connect_timeout=timeout_seconds,
        ).close()
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ServeError(f"Cannot connect to PostgreSQL as {where}: {first}") from None
    return where


def _stop(processes: list[subprocess.Popen], grace_seconds: float = 20.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run_both(commands: list[list[str]]) -> int:
    """Runs the commands side by side until one stops or we are interrupted; stops the rest."""
    processes = [subprocess.Popen(command, cwd=REPO_ROOT) for command in commands]
    stopping = []

    def interrupted(signum, frame) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        _stop(processes)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopping:
        return 0
    return next((p.returncode for p in processes if p.returncode), 1)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address the webserver listens on."),
    port: int = typer.Option(3000, help="Port the webserver listens on."),
    development: bool = typer.Option(
        False,
        "--development",
        help="Use the SQLite development instance (deploy/dagster.dev.yaml) instead of PostgreSQL.",
    ),
) -> None:
    """Starts the Dagster webserver and daemon against the production instance.

    Needs DAGSTER_HOME and the COMMONGROUND_PG_* variables (host, port, database, user,
    password); in production (COMMONGROUND_ENV=production) the pseudonymisation key too.
    """
    try:
        code = _serve(host, port, development)
    except ServeError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(code=2) from None
    raise typer.Exit(code=code)


def _serve(host: str, port: int, development: bool) -> int:
    settings = current_settings()
    if settings.dagster_home is None:
        raise ServeError(
            "DAGSTER_HOME is not set: point it at the folder that holds the instance's "
            "dagster.yaml (see README, 'Running in production')."
        )
    if not development:
        console.print(f"PostgreSQL: {check_postgres()}")
    source = DEVELOPMENT_INSTANCE if development else PRODUCTION_INSTANCE
    console.print(f"Instance: {install_instance(settings.dagster_home, source)}")
    ensure_manifest()
    console.print("dbt project parsed.")
    bin_dir = Path(sys.executable).parent
    workspace = ["-w", str(WORKSPACE)]
    console.print(
        f"Starting the Dagster daemon and the webserver on http://{host}:{port} "
        f"(environment {settings.environment}); Ctrl-C stops both."
    )
    return _run_both(
        [
            [str(bin_dir / "dagster-daemon"), "run", *workspace],
            [str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(port), *workspace],
        ]
    )
