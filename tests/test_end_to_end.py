"""End to end: generate a population, materialize everything, reconcile against the truth."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import fastexcel
import pyarrow.parquet as pq
import pytest

from orchestration.generator import generate_population
from orchestration.privacy import pseudonym
from orchestration.runner import run_everything
from orchestration.settings import DEVELOPMENT_PSEUDONYM_KEY

# Tests that run dbt in the project directory share one xdist worker (one target/ folder).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt_project")]


def _rows_in_file(path: Path) -> int:
    """Counts data rows with a reader independent of the pipeline's."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return sum(1 for _ in csv.reader(handle)) - 1
    if suffix in {".ndjson", ".jsonl", ".json"}:
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if suffix == ".xlsx":
        return fastexcel.read_excel(str(path)).load_sheet(0).height
    raise AssertionError(f"unexpected landing file {path}")


def _warehouse(data_dir: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


def _reconcile_landing_to_raw(data_dir: Path, con) -> None:
    landing = data_dir / "landing"
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    assert files
    log = {
        row[0]: row[1:]
        for row in con.execute(
            "select file_path, status, rows_in, rows_loaded, rows_quarantined "
            "from governance.ingestion_log"
        ).fetchall()
    }
    per_table: dict[str, int] = {}
    for path in files:
        rel = str(path.relative_to(landing))
        status, rows_in, loaded, quarantined = log[rel]
        expected = _rows_in_file(path)
        assert status == "loaded", rel
        assert rows_in == expected == loaded + quarantined, rel
        table = "__".join(path.relative_to(landing).parts[:2])
        per_table[table] = per_table.get(table, 0) + loaded
    for table, loaded in per_table.items():
        assert con.execute(f'select count(*) from raw."{table}"').fetchone()[0] == loaded


def _distinct(con, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def _reconcile_raw_to_conformed(con) -> None:
    pairs = [
        (
            "select count(distinct record_id) from raw.hmrc__paye_income",
            "select count(*) from conformed.income",
        ),
        (
            "select count(distinct award_id) from raw.dwp__benefit_awards",
            "select count(*) from conformed.benefit_awards",
        ),
        (
            "select count(distinct registration_id) from raw.nhs__gp_registrations",
            # opted-out patients (national data opt-out) are excluded from conformed
            "select (select count(*) from conformed.gp_registrations) + count(*) "
            "from staging.stg_nhs__gp_registrations where nhs_number in "
            "(select nhs_number from staging.stg_nhs__data_opt_outs)",
        ),
        (
            "select count(distinct lmk_key) from raw.dluhc__energy_certificates",
            "select count(*) from conformed.energy_certificates",
        ),
        (
            "select count(distinct account_ref) from raw.council__council_tax",
            "select count(*) from conformed.council_tax",
        ),
        (
            "select count(distinct upn) from raw.dfe__school_census",
            "select count(*) from conformed.pupils",
        ),
    ]
    for raw_sql, conformed_sql in pairs:
        assert _distinct(con, raw_sql) == _distinct(con, conformed_sql), conformed_sql


def _expected(data_dir: Path, name: str) -> list[dict[str, str]]:
    with (data_dir / "ground_truth" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _warm_homes(con) -> dict[str, tuple[int, int, int]]:
    rows = con.execute(
        "select local_authority_code, homes_with_certificate, homes_rated_e_to_g, "
        "homes_e_to_g_income_related from marts_warm_homes.fuel_poverty_risk_by_local_authority"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _award_key(award_id: str) -> str:
    """The pseudonym the conformed layer and marts carry for a DWP award id."""
    return pseudonym(DEVELOPMENT_PSEUDONYM_KEY, "award_id", award_id.strip())


def _overlaps(con) -> dict[str, float]:
    rows = con.execute(
        "select award_key, overlapping_gross_pay "
        "from marts_undeclared_income.benefit_income_overlaps"
    ).fetchall()
    return {r[0]: float(r[1]) for r in rows}


def test_clean_population_reconciles_exactly_with_the_ground_truth(data_dir):
    generate_population(data_dir, citizens=3_000, seed=11, messiness=0.0)
    summary = run_everything()
    assert summary.success, summary.failed_steps
    assert not summary.failed_checks, [(c.asset, c.name) for c in summary.failed_checks]

    with _warehouse(data_dir) as con:
        _reconcile_landing_to_raw(data_dir, con)
        _reconcile_raw_to_conformed(con)

        truth = {
            r["local_authority_code"]: (
                int(r["homes_with_certificate"]),
                int(r["homes_rated_e_to_g"]),
                int(r["homes_e_to_g_income_related"]),
            )
            for r in _expected(data_dir, "expected_warm_homes.csv")
        }
        assert truth and sum(t[2] for t in truth.values()) > 0
        assert _warm_homes(con) == truth

        expected = {
            _award_key(r["award_id"]): float(r["overlapping_gross_pay"])
            for r in _expected(data_dir, "expected_undeclared_income.csv")
        }
        assert expected
        got = _overlaps(con)
        assert set(got) == set(expected)
        for award, pay in expected.items():
            assert got[award] == pytest.approx(pay, abs=0.01), award


def test_messy_population_flows_through_and_stays_close_to_the_truth(demo_warehouse):
    data_dir, summary = demo_warehouse
    assert summary.success, summary.failed_steps
    assert not [c for c in summary.failed_checks if c.severity == "ERROR"]

    with _warehouse(data_dir) as con:
        _reconcile_landing_to_raw(data_dir, con)
        _reconcile_raw_to_conformed(con)
        truth = {
            _award_key(r["award_id"]) for r in _expected(data_dir, "expected_undeclared_income.csv")
        }
        got = set(_overlaps(con))
        found = len(got & truth)
        assert found / len(truth) >= 0.85, (found, len(truth))
        assert found / max(len(got), 1) >= 0.85, (found, len(got))

        homes = sum(
            int(r["homes_with_certificate"]) for r in _expected(data_dir, "expected_warm_homes.csv")
        )
        got_homes = sum(v[0] for v in _warm_homes(con).values())
        assert abs(got_homes - homes) / homes <= 0.05, (got_homes, homes)
