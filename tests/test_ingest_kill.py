"""Exactly-once under failure: a real ingest run killed mid-load, then run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import ingest_dataset

pytestmark = pytest.mark.slow

RUN = """
import logging, sys
import dagster as dg
from dagster_duckdb import DuckDBResource
from orchestration.defs.ingest.assets import build_ingest_asset
from orchestration.contracts import load_contracts

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
contract = {c.raw_table: c for c in load_contracts()}["hmrc__paye_income"]
dg.materialize([build_ingest_asset(contract)],
               resources={"warehouse": DuckDBResource(database=sys.argv[1])})
"""

ROWS = 1_500_000


def _big_paye_file(path: Path) -> None:
    """A valid PAYE delivery of ROWS rows, written by DuckDB."""
    path.parent.mkdir(parents=True)
    duckdb.execute(
        f"""
        copy (
            select 'P' || i as RECORD_ID, 'AB 12 34 56 C' as NINO, 'JOHN' as FORENAMES,
                'SMITH' as SURNAME, '01/02/1980' as DATE_OF_BIRTH, 'LS1 4AB' as POSTCODE,
                '123/AB45678' as EMPLOYER_PAYE_REF, '2025-26' as TAX_YEAR,
                '06/04/2025' as PERIOD_START, '05/04/2026' as PERIOD_END,
                '£31,234.50' as GROSS_PAY, '£4.00' as TAX_DEDUCTED
            from range({ROWS}) t(i)
        ) to '{path}' (header, delimiter ',', quote '"', force_quote (GROSS_PAY))
        """
    )


def test_a_run_killed_mid_load_leaves_nothing_and_the_rerun_loads_once(tmp_path, contracts):
    data = tmp_path / "data"
    landing = data / "landing"
    delivery = landing / "hmrc" / "paye_income" / "paye_big.csv"
    _big_paye_file(delivery)
    warehouse = data / "warehouse.duckdb"
    env = {**os.environ, "COMMONGROUND_DATA_DIR": str(data)}
    env.pop("DAGSTER_HOME", None)
    process = subprocess.Popen(
        [sys.executable, "-c", RUN, str(warehouse)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        for line in process.stderr:
            if "loading hmrc/paye_income/paye_big.csv" in line:
                break
            assert time.monotonic() < deadline, "the run never started loading"
        else:
            pytest.fail(f"the run ended before loading (exit {process.wait()})")
        time.sleep(1.0)
        assert process.poll() is None, "the load finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL

    with duckdb.connect(str(warehouse)) as con:
        # Killed mid-transaction: neither rows nor a log entry survive.
        assert con.execute("select count(*) from raw.hmrc__paye_income").fetchone()[0] == 0
        assert con.execute("select count(*) from governance.ingestion_log").fetchone()[0] == 0
        outcomes = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "rerun")
        assert [(o.status, o.rows_in, o.rows_loaded) for o in outcomes] == [("loaded", ROWS, ROWS)]
        assert ingest_dataset(con, contracts["hmrc__paye_income"], landing, "again") == []
        assert con.execute(
            "select count(*), count(distinct record_id) from raw.hmrc__paye_income"
        ).fetchone() == (ROWS, ROWS)
        assert con.execute(
            "select status, count(*) from governance.ingestion_log group by all"
        ).fetchall() == [("loaded", 1)]
