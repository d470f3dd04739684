"""The production instance profile (deploy/dagster.yaml) against a real PostgreSQL.

Run history, event logs and schedule state must land in PostgreSQL; the daemon's queue must
let one warehouse writer run at a time; the database password must never be written under
DAGSTER_HOME; and the daemon and webserver must serve the ``commonground`` code location.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from services import REPO_ROOT, PostgresServer, dagster_processes, free_port

from orchestration.project import ensure_manifest

# In the dbt_project group: loading the code location parses the dbt project.
pytestmark = [pytest.mark.services, pytest.mark.xdist_group("dbt_project")]

DEPLOY_PROFILE = REPO_ROOT / "deploy" / "dagster.yaml"


@pytest.fixture
def production_home(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A DAGSTER_HOME holding the deploy profile, with the PostgreSQL settings in the
    environment and an empty data folder."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_PROFILE, home / "dagster.yaml")
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(data))
    for name, value in postgres_server.env().items():
        monkeypatch.setenv(name, value)
    return home


def _files_containing(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@dg.op
def say_hello(context) -> str:
    context.log.info("hello from the production instance test")
    return "hello"


@dg.job
def throwaway_job() -> None:
    say_hello()


def test_profile_keeps_history_in_postgres_and_queues_warehouse_writers(production_home):
    with dg.DagsterInstance.get() as instance:
        storages = {
            "runs": instance.run_storage,
            "event log": instance.event_log_storage,
            "schedules": instance.schedule_storage,
        }
        for role, storage in storages.items():
            assert "Postgres" in type(storage).__name__, f"{role} storage is {storage!r}"

        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.pool_granularity.value == "run"
        assert concurrency.pool_config.default_pool_limit == 1
        assert {"key": "commonground/warehouse", "value": "write", "limit": 1} in (
            concurrency.run_queue_config.tag_concurrency_limits
        )

        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled


def test_a_run_is_recorded_in_postgres_and_the_password_stays_off_disk(
    production_home, postgres_server
):
    with dg.DagsterInstance.get() as instance:
        result = throwaway_job.execute_in_process(instance=instance)
    assert result.success

    with postgres_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select pipeline_name, status from runs where run_id = %s", (result.run_id,))
        assert cursor.fetchall() == [("throwaway_job", "SUCCESS")]
        cursor.execute(
            "select dagster_event_type from event_logs where run_id = %s", (result.run_id,)
        )
        event_types = {row[0] for row in cursor.fetchall()}
    connection.close()
    # Stored under the event types' values (run events keep their legacy PIPELINE_ names).
    expected = (
        dg.DagsterEventType.RUN_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.RUN_SUCCESS,
    )
    assert {event.value for event in expected} <= event_types

    # The run's own logs are under DAGSTER_HOME (so the scan reads them); the password is not.
    assert _files_containing(production_home, "hello from the production instance test")
    assert _files_containing(production_home, postgres_server.password) == []


LOCATIONS_QUERY = """
{
  repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } }
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)["data"]


def test_daemon_and_webserver_serve_the_code_location(production_home, postgres_server):
    # As `commonground prepare` does before serving: the daemon's and the webserver's code
    # servers would otherwise both parse the dbt project into the same target at once.
    ensure_manifest()
    port = free_port()
    with dagster_processes(production_home, postgres_server.env(), webserver_port=port):
        answer = _graphql(port, LOCATIONS_QUERY)

    load_errors = {
        entry["name"]: entry["locationOrLoadError"].get("message")
        for entry in answer["workspaceOrError"]["locationEntries"]
        if entry["locationOrLoadError"]["__typename"] == "PythonError"
    }
    assert load_errors == {}
    nodes = answer["repositoriesOrError"]["nodes"]
    assert "commonground" in {node["location"]["name"] for node in nodes}
    assert _files_containing(production_home, postgres_server.password) == []
