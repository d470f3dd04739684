"""The contract of incremental runs: they give what a full rebuild gives.

A population is loaded, then three later deliveries arrive, one run each: new records, a
correction of records already delivered (same keys, changed family names), and a late file
(dated before the first deliveries, delivered last). Every run after the first processes
only what changed: staging takes only the new loads, the linkage scores only the changed
person records and re-clusters only the components they touch. A copy of the warehouse
is then rebuilt from scratch from the same raw tables. Both must hold the same rows in
every staging, intermediate, conformed and mart table and the same person index (the
same persons, with the same keys), and every person key that changed on the way is in
``governance.person_key_changes``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from increments import write_delivery

from orchestration.contracts import load_contracts
from orchestration.generator import generate_population
from orchestration.incremental import incremental_models, models_to_refresh
from orchestration.project import dbt_project
from orchestration.runner import run_everything
from orchestration.settings import get_settings
from orchestration.sql import quote_identifier

pytestmark = pytest.mark.slow

PERSON_DATASETS = ("dwp__benefit_awards", "hmrc__paye_income", "nhs__gp_registrations")
COMPARED_SCHEMAS = ("staging", "intermediate", "conformed", "marts_warm_homes",
                    "marts_undeclared_income")  # fmt: skip
INDEX_TABLES = ("person_matches", "person_links", "person_candidates", "person_pairs")


def _run(data_dir: Path, monkeypatch: pytest.MonkeyPatch, full_refresh: bool = False):
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    (data_dir / "dagster_home").mkdir(exist_ok=True)
    summary = run_everything(full_refresh=full_refresh)
    assert summary.success, (summary.failed_steps, summary.step_errors)
    assert not summary.blocking_failures, summary.blocking_failures
    return summary


def _linkage_metadata(data_dir: Path, run_id: str) -> dict:
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        records = instance.fetch_materializations(
            dg.AssetKey(["linkage", "person_matches"]), limit=20
        ).records
        for record in records:
            if record.run_id == run_id:
                return {k: v.value for k, v in record.asset_materialization.metadata.items()}
    raise AssertionError(f"linkage/person_matches was not materialized in run {run_id}")


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    schemas = ", ".join(f"'{s}'" for s in COMPARED_SCHEMAS)
    rows = con.execute(
        f"select schema_name, table_name from duckdb_tables() where database_name = '{catalog}' "
        f"and schema_name in ({schemas}) order by all"
    ).fetchall()
    return rows + [("linkage", t) for t in INDEX_TABLES]


def _differences(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> tuple[int, int]:
    name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    only_incremental, only_full = (
        con.execute(
            f"select count(*) from (select * from {a}.{name} except all select * from {b}.{name})"
        ).fetchone()[0]
        for a, b in (("inc", "rebuilt"), ("rebuilt", "inc"))
    )
    return only_incremental, only_full


def test_an_incremental_sequence_of_deliveries_equals_a_full_rebuild(tmp_path, monkeypatch):
    data_dir = tmp_path / "incremental" / "data"
    data_dir.mkdir(parents=True)
    generate_population(data_dir, citizens=2_000, seed=21, messiness=1.0)
    _run(data_dir, monkeypatch)
    warehouse = data_dir / "warehouse.duckdb"
    landing = data_dir / "landing"
    contracts = {c.raw_table: c for c in load_contracts()}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged_before = con.execute(
            "select count(*) from staging.stg_dwp__benefit_awards"
        ).fetchone()[0]

    # 1. New records: copies of delivered people under new keys, so they link to them.
    written = sum(
        write_delivery(
            warehouse, landing, contracts[t], f"{t}_2026-05-01_new.{contracts[t].format}",
            share=0.05, seed=1, key_suffix="-N",
        )
        for t in PERSON_DATASETS
    )  # fmt: skip
    assert written > 50
    first = _run(data_dir, monkeypatch)
    # Nothing dbt builds changed, so no incremental model is rebuilt from scratch.
    manifest = json.loads(dbt_project().manifest_path.read_text())
    assert len(incremental_models(manifest)) >= 7
    assert models_to_refresh(manifest, get_settings().pseudonym_key, data_dir) == []
    # 2. A correction: the same keys delivered again with their family names changed.
    corrected = write_delivery(
        warehouse, landing, contracts["dwp__benefit_awards"],
        "dwp__benefit_awards_2026-05-08_correction.json",
        share=0.05, seed=2, family_name_suffix="-SMYTHE",
    )  # fmt: skip
    assert corrected > 10
    second = _run(data_dir, monkeypatch)
    # 3. A late file: an earlier extract that arrives last.
    late = write_delivery(
        warehouse, landing, contracts["hmrc__paye_income"], "paye_income_2025-03-31_late.csv",
        share=0.03, seed=3, key_suffix="-L",
    )  # fmt: skip
    assert late > 10
    third = _run(data_dir, monkeypatch)

    for summary in (first, second, third):
        linkage = _linkage_metadata(data_dir, summary.run_id)
        assert linkage["incremental"] is True, linkage
        assert 0 < linkage["records_changed"] < linkage["dagster/row_count"] / 5, linkage
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged = con.execute(
            "select count(*), count(*) filter (where family_name like '%SMYTHE') "
            "from staging.stg_dwp__benefit_awards"
        ).fetchone()
        assert staged[0] > staged_before
        assert staged[1] == corrected

    # The full rebuild: the same raw tables, every incremental model and the person index
    # built from scratch.
    full_dir = tmp_path / "full" / "data"
    shutil.copytree(data_dir, full_dir, ignore=shutil.ignore_patterns("dagster_home"))
    rebuilt = _run(full_dir, monkeypatch, full_refresh=True)
    assert _linkage_metadata(full_dir, rebuilt.run_id)["incremental"] is False

    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as inc (read_only)")
        con.execute(f"attach '{full_dir / 'warehouse.duckdb'}' as rebuilt (read_only)")
        tables = _tables(con, "inc")
        assert len(tables) > 25
        assert tables == _tables(con, "rebuilt")
        different = {
            f"{schema}.{table}": diff
            for schema, table in tables
            if (diff := _differences(con, schema, table)) != (0, 0)
        }
        assert not different, f"rows only incremental, only full: {different}"
        persons, records = con.execute(
            "select count(distinct person_key), count(*) from inc.linkage.person_matches"
        ).fetchone()
    assert 0 < persons < records
