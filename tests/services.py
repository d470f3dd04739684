"""Real servers for tests: a throwaway PostgreSQL and the Dagster daemon and webserver.

``postgres_server`` (a session fixture; registered through ``pytest_plugins`` in
``tests/conftest.py``) starts a private PostgreSQL on a free port of 127.0.0.1 with a
``commonground`` role and a ``dagster`` database. Without the server binaries the tests
that use it are skipped, unless ``COMMONGROUND_REQUIRE_SERVICES=1`` (CI sets it): then
they fail.

:func:`dagster_processes` runs ``dagster-daemon`` (and optionally ``dagster-webserver``)
against a ``DAGSTER_HOME`` until the ``with`` block ends.

``webhook`` (a fixture) is a local HTTP server on 127.0.0.1 that records what is posted to
it, at a URL whose path holds a fake secret token (:data:`WEBHOOK_TOKEN`).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import dagster as dg
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout these tests run from: the Dagster processes start here."""

WORKSPACE = REPO_ROOT / "workspace.yaml"

REQUIRE_SERVICES = "COMMONGROUND_REQUIRE_SERVICES"
"""Set to 1 to make a missing server fail the tests that need it instead of skipping them."""

POSTGRES_SYSTEM_USER = "postgres"
"""Who runs PostgreSQL when the tests run as root (``initdb`` refuses to run as root)."""

SUPERUSER = "postgres"
ROLE = "commonground"
DATABASE = "dagster"

START_TIMEOUT_SECONDS = 60.0
DAGSTER_START_TIMEOUT_SECONDS = 180.0
"""Each Dagster process loads the whole code location (over 10 s on its own, more on a busy
CI machine) before it reports ready."""
STOP_TIMEOUT_SECONDS = 10.0
LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """A test server did not start or stopped; the message carries the tail of its log."""


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL that accepts ``user``/``password`` over TCP for ``db_name``."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    db_name: str

    def env(self) -> dict[str, str]:
        """The variables ``deploy/dagster.yaml`` reads to reach this server."""
        return {
            "COMMONGROUND_PG_HOST": self.host,
            "COMMONGROUND_PG_PORT": str(self.port),
            "COMMONGROUND_PG_DB": self.db_name,
            "COMMONGROUND_PG_USER": self.user,
            "COMMONGROUND_PG_PASSWORD": self.password,
        }

    def connect(self):
        """A new psycopg2 connection to ``db_name`` as ``user`` (the caller closes it)."""
        import psycopg2  # installed with dagster-postgres; only the services tests need it

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.db_name,
        )


def _unavailable(reason: str) -> None:
    """Skips the test, or fails it when the environment demands real services."""
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SERVICES}=1, so this is an error, not a skip)")
    pytest.skip(reason)


def _version_key(bin_dir: str) -> tuple[int, ...]:
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian's newest version, else the PATH."""
    candidates = [
        directory
        for directory in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(Path(directory) / "initdb", os.X_OK)
        and os.access(Path(directory) / "pg_ctl", os.X_OK)
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    initdb = shutil.which("initdb")
    if initdb:
        directory = Path(initdb).resolve().parent
        if os.access(directory / "pg_ctl", os.X_OK):
            return directory
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


class _PostgresCluster:
    """One PostgreSQL data folder under a fresh temporary folder, and its server."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.run_as: list[str] = []
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(POSTGRES_SYSTEM_USER)
            except KeyError:
                pytest.fail(
                    f"Tests run as root and initdb refuses root, but there is no "
                    f"{POSTGRES_SYSTEM_USER!r} system user to run PostgreSQL as. Install the "
                    "Debian postgresql package (it creates the user) or run the tests as a "
                    "regular user."
                )
            self.run_as = ["runuser", "-u", POSTGRES_SYSTEM_USER, "--"]
        # Under /tmp so that every parent folder is traversable by the postgres user.
        self.root = Path(tempfile.mkdtemp(prefix="commonground-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.sockets.mkdir()
        if owner is not None:
            for path in (self.root, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.port = 0
        self.started = False

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self.run_as, *command],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"{' '.join(command)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n--- {self.log} ---\n{_tail(self.log)}"
            )

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        # The owner of the files stays the postgres user: write_text truncates in place.
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )

    def start(self) -> None:
        self.port = free_port()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sockets}'",
            "password_encryption": "'scram-sha-256'",
            # A throwaway server: durability costs time and buys nothing.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{name} = {value}\n" for name, value in settings.items()))
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "--pgdata",
            str(self.data),
            "--log",
            str(self.log),
            "--wait",
            "--timeout",
            str(int(START_TIMEOUT_SECONDS)),
            "start",
        )
        self.started = True

    def create_database(self, password: str) -> None:
        import psycopg2  # installed with dagster-postgres
        from psycopg2 import sql

        admin = psycopg2.connect(
            host=str(self.sockets), port=self.port, user=SUPERUSER, dbname="postgres"
        )
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(ROLE)),
                    (password,),
                )
                cursor.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(DATABASE), sql.Identifier(ROLE)
                    )
                )
        finally:
            admin.close()

    def stop(self) -> None:
        try:
            if self.started:
                subprocess.run(
                    [
                        *self.run_as,
                        str(self.bin_dir / "pg_ctl"),
                        "--pgdata",
                        str(self.data),
                        "--mode",
                        "immediate",
                        "--wait",
                        "stop",
                    ],
                    cwd=self.root,
                    capture_output=True,
                    timeout=STOP_TIMEOUT_SECONDS * 3,
                    check=False,
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL for this test session: role ``commonground`` with a random
    password, database ``dagster``, on 127.0.0.1 at a free port; stopped and deleted at the
    end of the session."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        _unavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under "
            "/usr/lib/postgresql/*/bin or on PATH; install the Debian postgresql package"
        )
    cluster = _PostgresCluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        password = secrets.token_urlsafe(24)
        cluster.create_database(password)
        yield PostgresServer(
            host="127.0.0.1", port=cluster.port, user=ROLE, password=password, db_name=DATABASE
        )
    finally:
        cluster.stop()


def _scripts_dir() -> Path:
    """Where the running Python's console scripts live (the venv's ``bin``)."""
    return Path(sys.executable).parent


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group we started, then SIGKILL if it lingers.

    The group is signalled even when its leader has exited: code servers it spawned may not.
    """
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_SECONDS), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # The group may hold code servers the process spawned: never leave them behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _webserver_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def _instance_for(env: Mapping[str, str]) -> Iterator[dg.DagsterInstance]:
    """The instance the processes see: ``DagsterInstance.get()`` under their environment.

    The environment is only patched while the instance is built: its storages read their
    connection settings then.
    """
    with mock.patch.dict(os.environ, env):
        instance = dg.DagsterInstance.get()
    try:
        yield instance
    finally:
        instance.dispose()


def _daemons_healthy(instance: dg.DagsterInstance) -> bool:
    """Whether every daemon the instance needs has sent a recent heartbeat (what
    ``dagster-daemon liveness-check`` checks, without a 3 s process start per poll)."""
    statuses = instance.get_daemon_statuses()
    return bool(statuses) and all(status.healthy for status in statuses.values())


@contextlib.contextmanager
def dagster_processes(
    dagster_home: Path,
    env: Mapping[str, str],
    workspace: Path = WORKSPACE,
    *,
    webserver_port: int | None = None,
    timeout: float = DAGSTER_START_TIMEOUT_SECONDS,
) -> Iterator[dict[str, subprocess.Popen]]:
    """Runs the Dagster daemon (and the webserver when ``webserver_port`` is given) until the
    ``with`` block ends.

    The processes start from the repository root with this environment plus ``env`` and
    ``DAGSTER_HOME``, and log to ``daemon.log`` and ``webserver.log`` in ``dagster_home``.
    The block starts once every required daemon has sent a heartbeat and the webserver
    answers ``/server_info``; the processes are stopped on the way out whatever happens.

    Yields:
        The processes by name (``daemon``, ``webserver``).

    Raises:
        ServiceError: A process exited or was not ready within ``timeout`` seconds; the
            message ends with the tail of each log.
    """
    scripts = _scripts_dir()
    full_env = {
        **os.environ,
        **env,
        "DAGSTER_HOME": str(dagster_home),
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    commands = {"daemon": [str(scripts / "dagster-daemon"), "run", "-w", str(workspace)]}
    if webserver_port is not None:
        commands["webserver"] = [
            str(scripts / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(webserver_port),
            "-w",
            str(workspace),
        ]
    logs = {name: Path(dagster_home) / f"{name}.log" for name in commands}
    processes: dict[str, subprocess.Popen] = {}

    def failure(problem: str) -> ServiceError:
        tails = "".join(f"\n--- {logs[name]} ---\n{_tail(logs[name])}" for name in commands)
        return ServiceError(problem + tails)

    with _instance_for(full_env) as instance:
        # Heartbeats of an earlier daemon on the same database would pass for this one's.
        instance.wipe_daemon_heartbeats()
        try:
            for name, command in commands.items():
                with logs[name].open("ab") as log:
                    processes[name] = subprocess.Popen(
                        command,
                        cwd=REPO_ROOT,
                        env=full_env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group, code servers included
                    )
            deadline = time.monotonic() + timeout
            webserver_ready = webserver_port is None
            daemon_ready = False
            while not (webserver_ready and daemon_ready):
                for name, process in processes.items():
                    if process.poll() is not None:
                        raise failure(f"dagster {name} exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise failure(f"dagster processes not ready after {timeout:.0f} s")
                webserver_ready = webserver_ready or _webserver_answers(webserver_port)
                daemon_ready = daemon_ready or _daemons_healthy(instance)
                if not (webserver_ready and daemon_ready):
                    time.sleep(0.5)
            yield processes
        finally:
            for process in processes.values():
                _stop(process)


WEBHOOK_TOKEN = "T0FAKE/B0FAKE/xoxbFakeSecretToken0123456789"
"""The secret part of the test webhook's URL (as in a Slack incoming-webhook URL)."""


class Webhook:
    """A local webhook: records every request and answers with ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.url = ""

    def payloads(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def webhook():
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            time.sleep(hook.delay)
            answer = b"ok" if hook.status == 200 else b"invalid_token"
            self.send_response(hook.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_port}/services/{WEBHOOK_TOKEN}"
    yield hook
    server.shutdown()
    server.server_close()
