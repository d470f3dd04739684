"""The landing-zone sensor: stable new files start one run each, keyed by their SHA-256."""

from __future__ import annotations

import hashlib
import json
import os

import dagster as dg
import pytest

from orchestration.definitions import defs as load_defs
from orchestration.defs.ingest.sensors import SENSOR_NAME

pytestmark = pytest.mark.xdist_group("dbt_project")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return load_defs()


def _tick(defs, instance, cursor):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=defs.get_repository_def(),
    )
    result = sensor.evaluate_tick(context)
    return result.run_requests or [], result.cursor


def test_a_stable_new_file_starts_one_run_through_to_the_marts(defs, data_dir):
    folder = data_dir / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    delivery = folder / "paye.csv"
    delivery.write_text("RECORD_ID\nP1\n")
    (folder / "paye2.csv.part").write_text("still uploading")
    sha = hashlib.sha256(delivery.read_bytes()).hexdigest()
    with dg.DagsterInstance.ephemeral() as instance:
        requests, cursor = _tick(defs, instance, None)
        assert requests == []  # seen once: wait until its size is stable
        requests, cursor = _tick(defs, instance, cursor)
        assert len(requests) == 1
        request = requests[0]
        assert request.run_key == sha
        keys = {k.to_user_string() for k in request.asset_selection}
        assert "raw/hmrc__paye_income" in keys
        assert "staging/stg_hmrc__paye_income" in keys
        assert "conformed/income" in keys
        assert "marts/benefit_income_overlaps" in keys
        assert "raw/dwp__benefit_awards" not in keys
        assert ".part" not in request.tags["commonground/files"]

        requests, cursor = _tick(defs, instance, cursor)
        assert requests == []  # nothing new

        delivery.write_text("RECORD_ID\nP1\nP2\n")
        os.utime(delivery, ns=(1, 1))
        requests, cursor = _tick(defs, instance, cursor)
        assert requests == []
        requests, cursor = _tick(defs, instance, cursor)
        assert [r.run_key for r in requests] == [hashlib.sha256(delivery.read_bytes()).hexdigest()]
        assert json.loads(cursor)["seen"]["hmrc/paye_income/paye.csv"][2] == requests[0].run_key


def _log_delivery(data_dir, rel: str, sha: str, status: str = "loaded") -> None:
    """Records a file in governance.ingestion_log as `commonground run` would."""
    import duckdb

    from orchestration import governance

    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        governance.ensure(con, "ingestion_log")
        columns = [c.name for c in governance.table("ingestion_log").columns]
        values = {
            "run_id": "cli-run",
            "department": "hmrc",
            "dataset": "paye_income",
            "file_path": rel,
            "file_sha256": sha,
            "status": status,
            "loaded_at": "2026-01-01 00:00:00",
        }
        given = [c for c in columns if c in values]
        con.execute(
            f"insert into governance.ingestion_log ({', '.join(given)}) "
            f"values ({', '.join('?' for _ in given)})",
            [values[c] for c in given],
        )


def test_files_already_in_the_ingestion_log_never_start_a_run(defs, data_dir):
    """After `make demo`, switching the sensor on must not send the loaded files again."""
    folder = data_dir / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    loaded = folder / "paye.csv"
    loaded.write_text("RECORD_ID\nP1\n")
    _log_delivery(data_dir, "hmrc/paye_income/paye.csv", sha256_of(loaded))
    renamed = folder / "paye_copy.csv"  # the same bytes under another name: a duplicate
    renamed.write_bytes(loaded.read_bytes())
    with dg.DagsterInstance.ephemeral() as instance:
        requests, cursor = _tick(defs, instance, None)
        assert requests == []
        result = defs.resolve_sensor_def(SENSOR_NAME).evaluate_tick(
            dg.build_sensor_context(
                instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
            )
        )
        assert result.run_requests == []
        assert "already in governance.ingestion_log" in result.skip_message
        fresh = folder / "paye_new.csv"
        fresh.write_text("RECORD_ID\nP9\n")
        requests, cursor = _tick(defs, instance, result.cursor)
        requests, cursor = _tick(defs, instance, cursor)
        assert [r.tags["commonground/files"] for r in requests] == ["hmrc/paye_income/paye_new.csv"]
        assert requests[0].tags["commonground/warehouse"] == "write"


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ready_files_wait_while_any_warehouse_writer_is_in_flight(defs, data_dir):
    """A run from the UI or the CLI (not only the sensor's own) holds the files back."""
    folder = data_dir / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "paye.csv").write_text("RECORD_ID\nP1\n")
    with dg.DagsterInstance.ephemeral() as instance:
        job = defs.resolve_job_def("commonground_everything")
        manual = instance.create_run_for_job(
            job_def=job, run_config={}, tags={"commonground/warehouse": "write"}
        )
        requests, cursor = _tick(defs, instance, None)
        requests, cursor = _tick(defs, instance, cursor)
        assert requests == []
        assert json.loads(cursor)["pending"][0][1] == "hmrc/paye_income/paye.csv"
        instance.report_run_canceled(manual)
        requests, cursor = _tick(defs, instance, cursor)
        assert [r.tags["commonground/files"] for r in requests] == ["hmrc/paye_income/paye.csv"]


def test_ready_files_wait_while_another_process_writes_the_warehouse(defs, data_dir):
    import subprocess
    import sys

    folder = data_dir / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "paye.csv").write_text("RECORD_ID\nP1\n")
    _log_delivery(data_dir, "hmrc/paye_income/other.csv", "0" * 64)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom pathlib import Path\n"
            "from orchestration.lease import warehouse_lease\n"
            f"with warehouse_lease(Path({str(data_dir)!r}), wait_seconds=0):\n"
            "    print('held', flush=True)\n    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with dg.DagsterInstance.ephemeral() as instance:
            requests, cursor = _tick(defs, instance, None)
            requests, cursor = _tick(defs, instance, cursor)
            assert requests == []
            assert json.loads(cursor)["pending"]
    finally:
        holder.kill()
        holder.wait()
    with dg.DagsterInstance.ephemeral() as instance:
        requests, cursor = _tick(defs, instance, cursor)
        assert len(requests) == 1
