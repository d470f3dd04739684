"""``commonground serve`` (``make prod``): what an operator sees when starting production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from services import REPO_ROOT, PostgresServer, free_port

from orchestration.project import ensure_manifest

PG_VARIABLES = ("HOST", "PORT", "DB", "USER", "PASSWORD")


def _serve(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "serve", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def base_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONGROUND_PG_")}
    env.update(
        {"DAGSTER_HOME": str(tmp_path / "home"), "COMMONGROUND_DATA_DIR": str(tmp_path / "data")}
    )
    return env


def test_serve_names_the_missing_postgres_settings(base_env):
    result = _serve({**base_env, "COMMONGROUND_PG_HOST": "127.0.0.1"})
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "COMMONGROUND_PG_PORT, COMMONGROUND_PG_DB, COMMONGROUND_PG_USER," in result.stdout


def test_serve_says_when_postgres_cannot_be_reached_without_the_password(base_env):
    env = {
        **base_env,
        "COMMONGROUND_PG_HOST": "127.0.0.1",
        "COMMONGROUND_PG_PORT": str(free_port()),  # nothing listens there
        "COMMONGROUND_PG_DB": "dagster",
        "COMMONGROUND_PG_USER": "commonground",
        "COMMONGROUND_PG_PASSWORD": "s3cret-Password-value",
    }
    result = _serve(env)
    assert result.returncode == 2
    lines = [line for line in result.stdout.splitlines() if "PostgreSQL" in line]
    assert len(lines) == 1 and "commonground@127.0.0.1:" in lines[0]
    assert "s3cret-Password-value" not in result.stdout + result.stderr


def test_serve_refuses_production_without_a_strong_key(base_env, postgres_server):
    env = {
        **base_env,
        **postgres_server.env(),
        "COMMONGROUND_ENV": "production",
        "COMMONGROUND_PSEUDONYM_KEY": "short",
    }
    result = _serve(env)
    assert result.returncode == 2
    assert "COMMONGROUND_PSEUDONYM_KEY is too weak" in result.stdout


@pytest.mark.services
@pytest.mark.xdist_group("dbt_project")
def test_serve_runs_the_webserver_and_daemon_until_stopped(
    base_env, postgres_server: PostgresServer, tmp_path
):
    ensure_manifest()
    port = free_port()
    env = {**base_env, **postgres_server.env()}
    log = (tmp_path / "serve.log").open("w+")
    serve = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(1)
        else:
            pytest.fail("the webserver never answered:\n" + (tmp_path / "serve.log").read_text())
        installed = tmp_path / "home" / "dagster.yaml"
        assert installed.read_text() == (REPO_ROOT / "deploy" / "dagster.yaml").read_text()
        children = subprocess.run(
            ["pgrep", "-g", str(serve.pid), "-f", "dagster-daemon"], capture_output=True
        )
        assert children.returncode == 0, "the daemon is not running"
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
        leftovers = subprocess.run(
            ["pgrep", "-g", str(serve.pid), "-f", "dagster-(daemon|webserver)"],
            capture_output=True,
        )
        assert leftovers.returncode == 1, "a Dagster process outlived serve"
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert postgres_server.password not in output
    assert "PostgreSQL: commonground@127.0.0.1:" in output
