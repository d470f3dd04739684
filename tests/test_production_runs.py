"""Production operations end to end: the PostgreSQL instance, the daemon and the webserver.

One scenario, as an operator would live it, against real parts (PostgreSQL started by the
test, ``dagster-daemon`` and ``dagster-webserver`` processes, a local webhook):

1. ``commonground run`` loads the deliveries first (as after ``make demo``);
2. the daemon starts: the landing sensor must not send those files again, but a new
   delivery dropped in the landing zone starts one run, and the schedule's tick (set to
   come due a minute or two later) another;
3. three runs requested at once through the GraphQL API all succeed, one after another,
   with no lock error;
4. a run that fails (the warehouse file is damaged) raises an alert: a webhook call at once
   and a row in ``governance.alerts`` once the warehouse is back;
5. run history and check results are in PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest
from services import (
    REPO_ROOT,
    WEBHOOK_TOKEN,
    PostgresServer,
    dagster_processes,
    free_port,
)

from orchestration.generator import generate_population
from orchestration.project import ensure_manifest
from orchestration.runner import run_everything

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.xdist_group("dbt_project")]

INTAKE = [
    ["raw", "dfe__school_census"],
    ["raw", "hmrc__paye_income"],
    ["governance", "ingestion_log"],
]
"""A short warehouse-writing selection for the runs requested at once."""

NEW_FILE = "dfe/school_census/school_census_2026-05-15.csv"
LOCATION = "commonground"
TIMEOUT = 420.0


@pytest.fixture
def production(postgres_server: PostgresServer, tmp_path: Path, monkeypatch, webhook):
    """A production set-up: the deploy profile in DAGSTER_HOME, PostgreSQL, a webhook, a
    1,000-citizen landing zone; the landing sensor every 3 s."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **postgres_server.env(),
        "DAGSTER_HOME": str(home),
        "COMMONGROUND_DATA_DIR": str(data),
        "COMMONGROUND_SENSOR_INTERVAL_SECONDS": "3",
        "COMMONGROUND_ALERT_WEBHOOK_URL": webhook.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Wipe what an earlier test left in this session's database.
    with postgres_server.connect() as con, con.cursor() as cur:
        cur.execute(
            "select tablename from pg_tables where schemaname = 'public' "
            "and tablename not like 'alembic%'"
        )
        for (table,) in cur.fetchall():
            cur.execute(f'truncate table "{table}" cascade')
    generate_population(data, citizens=1_000, seed=5, messiness=1.0)
    ensure_manifest()
    return home, data, env


def _graphql(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


def launch(port: int, asset_keys: list[list[str]]) -> str:
    """Launches a run of the given assets through the webserver's GraphQL API."""
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": key} for key in asset_keys],
        },
        "runConfigData": {},
    }
    reply = _graphql(port, LAUNCH, {"params": params})
    result = reply.get("data", {}).get("launchRun") or {}
    assert result.get("__typename") == "LaunchRunSuccess", reply
    return result["run"]["runId"]


def wait_for(condition, what: str, timeout: float = TIMEOUT, logs: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(1.0)
    tail = ""
    if logs is not None:
        for log in sorted(logs.glob("*.log")):
            tail += f"\n--- {log.name} ---\n" + "\n".join(log.read_text().splitlines()[-40:])
    raise AssertionError(f"timed out waiting for {what}{tail}")


def finished(instance: dg.DagsterInstance, run_ids: list[str]) -> list[dg.DagsterRun] | None:
    runs = [instance.get_run_by_id(r) for r in run_ids]
    return runs if all(r is not None and r.is_finished for r in runs) else None


def lock_errors(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [
        e.message
        for e in instance.all_logs(run_id)
        if e.message and ("Conflicting lock" in e.message or "Could not set lock" in e.message)
    ]


def test_scheduled_sensed_and_concurrent_runs_in_production(production, postgres_server, webhook):
    home, data, env = production

    # 1. The deliveries are loaded by the CLI first, recorded in the PostgreSQL instance.
    first = run_everything()
    assert first.success and not first.blocking_failures, first.failed_steps
    loaded = set()
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute("select file_path from governance.ingestion_log").fetchall()
    assert len(loaded) == 7

    # The daily schedule, due once a minute or two from now (UK time, as it runs).
    due = datetime.now(ZoneInfo("Europe/London")) + timedelta(seconds=90)
    env = {**env, "COMMONGROUND_SCHEDULE_CRON": f"{due.minute} {due.hour} * * *"}
    port = free_port()
    with (
        dg.DagsterInstance.get() as instance,
        dagster_processes(home, env, webserver_port=port),
    ):
        # 2. A new delivery: the school census re-sent with one pupil fewer (new bytes).
        census = next((data / "landing" / "dfe" / "school_census").glob("*.csv"))
        lines = census.read_text().splitlines(keepends=True)
        new = census.with_name("school_census_2026-05-15.csv")
        new.write_text("".join(lines[:-1]))

        def sensor_and_schedule_runs():
            runs = instance.get_runs()
            sensed = [r for r in runs if r.tags.get("dagster/sensor_name") == "landing_zone_sensor"]
            scheduled = [
                r for r in runs if r.tags.get("dagster/schedule_name") == "commonground_daily"
            ]
            if sensed and scheduled and all(r.is_finished for r in sensed + scheduled):
                return sensed, scheduled
            return None

        sensed, scheduled = wait_for(sensor_and_schedule_runs, "sensor and schedule", logs=home)
        assert [r.status for r in sensed] == [dg.DagsterRunStatus.SUCCESS]
        assert sensed[0].tags["commonground/files"] == NEW_FILE
        assert scheduled[0].status == dg.DagsterRunStatus.SUCCESS
        for run in sensed + scheduled:
            assert run.tags["commonground/warehouse"] == "write"
            assert lock_errors(instance, run.run_id) == []
        materialized = {
            e.dagster_event.asset_key.to_user_string()
            for e in instance.all_logs(
                sensed[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
        }
        assert {"raw/dfe__school_census", "staging/stg_dfe__school_census"} <= materialized
        assert "raw/hmrc__paye_income" not in materialized
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
            log = con.execute(
                "select file_path, status, run_id from governance.ingestion_log "
                "where file_path like '%2026-05-15%'"
            ).fetchall()
        assert log == [(NEW_FILE, "loaded", sensed[0].run_id)]

        # 3. Three runs requested at once: queued, then run one after another.
        ids = [launch(port, INTAKE) for _ in range(3)]
        runs = wait_for(lambda: finished(instance, ids), "the three runs", logs=home)
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 3
        windows = sorted(
            (instance.get_run_record_by_id(r).start_time, instance.get_run_record_by_id(r).end_time)
            for r in ids
        )
        for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
            assert end <= start, f"runs overlapped: {windows}"
        for run_id in ids:
            assert lock_errors(instance, run_id) == []

        # 4. A damaged warehouse fails the next run: the webhook hears of it at once...
        warehouse = data / "warehouse.duckdb"
        kept = warehouse.with_suffix(".kept")
        warehouse.rename(kept)
        warehouse.write_bytes(b"this is not a DuckDB database" * 100)
        failing = launch(port, INTAKE)
        (run,) = wait_for(lambda: finished(instance, [failing]), "the failing run", logs=home)
        assert run.status == dg.DagsterRunStatus.FAILURE

        def failure_posted():
            texts = [json.dumps(p) for p in webhook.payloads()]
            return [json.loads(t) for t in texts if failing in t and "run_failure" in t]

        (payload,) = wait_for(failure_posted, "the failure's webhook call", timeout=120, logs=home)
        assert "text" in payload and "blocks" in payload
        # ...and governance.alerts records it once the warehouse is back.
        warehouse.unlink()
        kept.rename(warehouse)
        recorder = launch(port, [["governance", "alerts"]])
        (run,) = wait_for(lambda: finished(instance, [recorder]), "the alerts run", logs=home)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                "select kind, severity, run_id, webhook_status from governance.alerts "
                "where kind = 'run_failure'"
            ).fetchall()
            every = con.execute("select * from governance.alerts").fetchall()
        stored = json.dumps(every, default=str)
        assert rows == [("run_failure", "ERROR", failing, "delivered (HTTP 200)")]
        assert WEBHOOK_TOKEN not in stored

    # 5. Run history and check results live in PostgreSQL.
    with postgres_server.connect() as con, con.cursor() as cur:
        cur.execute("select status, count(*) from runs group by status")
        statuses = dict(cur.fetchall())
        cur.execute("select count(*), count(distinct run_id) from asset_check_executions")
        checks, check_runs = cur.fetchone()
    assert statuses.get("SUCCESS", 0) >= 7  # CLI (2), sensor, schedule, three at once, alerts
    assert statuses.get("FAILURE", 0) == 1
    assert checks > 100 and check_runs >= 3
