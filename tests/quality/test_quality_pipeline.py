"""Quality in the pipeline: checks, governance assets and write-audit-publish, end to end."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.publish import read_publication
from orchestration.standards import GDQF_DIMENSIONS, STANDARD_ATTRIBUTES

pytestmark = pytest.mark.slow

RESULT_COLUMNS = [
    "run_id",
    "validated_at",
    "dataset",
    "check_name",
    "dimension",
    "severity",
    "success",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "observed_value",
]

ANALYST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
query = "select run_id, (select count(*) from conformed.persons) from governance.publication"
print(*con.execute(query).fetchone(), flush=True)
for _ in sys.stdin:
    print(*con.execute(query).fetchone(), flush=True)
"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assets_by_table() -> dict[str, str]:
    """``<schema>.<table>`` -> the asset key (``/``-joined) of the asset writing it, from the
    ``dagster/table_name`` metadata of the loaded definitions (dbt's names lead with the
    database, which is dropped)."""
    from orchestration.definitions import defs

    graph = defs().resolve_asset_graph()
    tables = {}
    for key in graph.get_all_asset_keys():
        name = graph.get(key).metadata.get("dagster/table_name")
        if name:
            tables[".".join(str(name).split(".")[-2:])] = key.to_user_string()
    return tables


@pytest.mark.xdist_group("dbt_project")
class TestOnTheDemoWarehouse:
    """Read-only checks of the shared messy demo run (see ``demo_warehouse``)."""

    def test_every_blocking_check_passed_and_the_run_was_published(self, demo_warehouse):
        data_dir, summary = demo_warehouse
        assert summary.success, summary.failed_steps
        assert not summary.blocking_failures
        gx_checks = [c for c in summary.checks if c.asset.startswith(("raw/", "conformed/"))]
        assert {"nhs_number_valid", "birth_year_agrees_across_records"} <= {
            c.name for c in gx_checks
        }
        assert read_publication(data_dir / "published")[0] == summary.run_id

    def test_results_history_has_one_row_per_check_with_its_dimension(self, demo_warehouse):
        data_dir, summary = demo_warehouse
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'governance' and table_name = 'quality_results' order by ordinal_position"
                ).fetchall()
            ]
            rows = con.execute(
                "select dataset, check_name, dimension, severity, success "
                "from governance.quality_results where run_id in (select unnest(?::varchar[]))",
                [summary.run_ids],
            ).fetchall()
        assert columns[: len(RESULT_COLUMNS)] == RESULT_COLUMNS
        assert {r[2] for r in rows} <= set(GDQF_DIMENSIONS)
        assert "timeliness" in {r[2] for r in rows}
        asset_of = _assets_by_table()
        assert asset_of["marts_warm_homes.fuel_poverty_risk_by_local_authority"] == (
            "marts/fuel_poverty_risk_by_local_authority"
        )
        unknown = {r[0] for r in rows} - set(asset_of)
        assert not unknown, f"datasets that are no asset's warehouse table: {unknown}"
        recorded = {(asset_of[r[0]], r[1], r[3], r[4]) for r in rows}
        checked = {(asset_of[r[0]], r[1]) for r in rows}
        in_dagster = {
            (c.asset, c.name, c.severity, c.passed)
            for c in summary.checks
            if (c.asset, c.name) in checked
        }
        assert recorded == in_dagster and len(recorded) == len(rows) > 40
        assert {a.split("/")[0] for a, _ in checked} == {"raw", "conformed", "marts"}

    def test_scorecard_scores_every_dimension_against_the_contract_target(self, demo_warehouse):
        data_dir, summary = demo_warehouse
        card = {(r.dataset, r.dimension): r for r in summary.scorecard}
        nhs = card[("raw.nhs__gp_registrations", "validity")]
        assert nhs.target == 98 and 98 <= nhs.score < 100 and nhs.met
        assert card[("raw.hmrc__paye_income", "timeliness")].score == 100
        assert card[("conformed.person_records", "consistency")].target == 99
        assert all(r.score is None or 0 <= r.score <= 100 for r in summary.scorecard)
        assert all(r.met == (r.score >= r.target) for r in summary.scorecard if r.target)

    def test_declarations_and_data_docs_are_written(self, demo_warehouse):
        data_dir, _ = demo_warehouse
        text = (data_dir / "docs" / "declarations" / "conformed.person_records.md").read_text()
        assert text.startswith("# Quality declaration: conformed.person_records")
        assert "Every blocking (ERROR) check passed" in text
        assert "birth_year_agrees_across_records" in text and "| consistency |" in text
        index = data_dir / "docs" / "quality" / "index.html"
        assert "conformed.income" in index.read_text(encoding="utf-8")

    def test_the_snapshot_holds_conformed_marts_and_governance_only(
        self, demo_warehouse, contracts
    ):
        """... and the reference code lists (dbt seeds) that decode their coded columns."""
        data_dir, _ = demo_warehouse
        direct = {
            c.name
            for contract in contracts.values()
            for c in contract.columns
            if STANDARD_ATTRIBUTES[c.standard_attribute].direct_identifier
        }
        with duckdb.connect(str(data_dir / "published" / "analytics.duckdb"), True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
            columns = {
                r[0] for r in con.execute("select column_name from duckdb_columns()").fetchall()
            }
        schemas = {s for s, _ in tables}
        assert {"conformed", "governance", "marts_warm_homes", "reference"} <= schemas
        allowed = {"conformed", "governance", "reference"}
        assert not {s for s in schemas - allowed if not s.startswith("marts_")}, schemas
        assert not schemas & {"raw", "quarantine", "staging", "intermediate", "linkage"}
        assert {("governance", "quality_scorecard"), ("governance", "quality_results")} <= set(
            tables
        )
        assert not columns & direct, columns & direct


def _corrupt_nhs_numbers(source: Path, target: Path, share: float) -> None:
    frame = pq.read_table(source).to_pandas()
    bad = frame.index[: int(len(frame) * share)]
    # The check digit of an NHS number is unique: any other last digit is invalid.
    frame.loc[bad, "nhs_number"] = frame.loc[bad, "nhs_number"].map(
        lambda n: (
            n[:-1] + str((int(n[-1]) + 1) % 10) if isinstance(n, str) and n[-1:].isdigit() else n
        )
    )
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target)


def test_a_blocking_failure_keeps_the_previous_snapshot_and_a_warning_still_publishes(data_dir):
    from orchestration.generator import generate_population
    from orchestration.runner import run_everything

    generate_population(data_dir, citizens=1_200, seed=3, messiness=1.0)
    first = run_everything()
    assert first.success and not first.blocking_failures, first.failed_steps
    snapshot = data_dir / "published" / "analytics.duckdb"
    assert read_publication(data_dir / "published")[0] == first.run_id
    published_bytes = _sha256(snapshot)

    # An analyst opens the snapshot and keeps it open through the next runs.
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(snapshot)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        seen = analyst.stdout.readline().split()
        assert seen[0] == first.run_id

        gp = data_dir / "landing" / "nhs" / "gp_registrations"
        original = next(gp.glob("*.parquet"))
        _corrupt_nhs_numbers(original, gp / "gp_registrations_2026-05-05.parquet", 0.2)
        second = run_everything()

        assert not second.success
        assert [(c.asset, c.name) for c in second.blocking_failures] == [
            ("raw/nhs__gp_registrations", "nhs_number_valid")
        ]
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            validated = con.execute(
                "select distinct split_part(dataset, '.', 1) from governance.quality_results "
                "where run_id = ?",
                [second.run_id],
            ).fetchall()
            bad_share = con.execute(
                "select unexpected_percent from governance.quality_results "
                "where run_id = ? and check_name = 'nhs_number_valid'",
                [second.run_id],
            ).fetchone()[0]
        # Nothing downstream of raw ran: no conformed or mart results in this run.
        assert validated == [("raw",)]
        assert bad_share == pytest.approx(20, abs=1)
        assert _sha256(snapshot) == published_bytes
        assert read_publication(data_dir / "published")[0] == first.run_id
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().split() == seen

        # A corrected re-delivery (new bytes), and HMRC NINOs 10% malformed: a WARN rule.
        frame = pq.read_table(original).to_pandas().iloc[::-1]
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False),
            gp / "gp_registrations_2026-06-05.parquet",
        )
        hmrc = data_dir / "landing" / "hmrc" / "paye_income"
        paye = pd.read_csv(next(hmrc.glob("*.csv")), dtype=str, keep_default_na=False)
        bad = paye.index[: len(paye) // 10]
        paye.loc[bad, "NINO"] = "D" + paye.loc[bad, "NINO"].str[1:]
        paye.to_csv(hmrc / "paye_income_2025-26_resend.csv", index=False)
        third = run_everything()

        assert third.success and not third.blocking_failures, third.failed_steps
        warnings = [c for c in third.failed_checks if c.name == "nino_format"]
        assert [(c.asset, c.severity) for c in warnings] == [("raw/hmrc__paye_income", "WARN")]
        assert read_publication(data_dir / "published")[0] == third.run_id
        with duckdb.connect(str(snapshot), read_only=True) as published:
            recorded = published.execute(
                "select success, observed_value from governance.quality_results "
                "where run_id in (select unnest(?::varchar[])) and check_name = 'nino_format'",
                [third.run_ids],
            ).fetchone()
        assert recorded[0] is False and float(recorded[1]) >= 10
        # The analyst's open snapshot is the one they opened, whole and unchanged.
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().split() == seen
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
