"""Sharing agreements: permitted columns only, per-agreement pseudonyms, refusals, the log."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.privacy import AgreementError, find_agreement, load_agreement
from orchestration.project import AGREEMENTS_DIR

TODAY = date(2026, 4, 5)


def test_every_agreement_in_the_repository_is_valid():
    paths = sorted(AGREEMENTS_DIR.glob("*.yaml"))
    assert len(paths) >= 2
    for path in paths:
        agreement = load_agreement(path)
        assert agreement.consumer and agreement.purpose and agreement.legal_basis


def test_unknown_and_expired_agreements_are_refused_with_a_clear_message():
    with pytest.raises(AgreementError, match="unknown sharing agreement 'nobody'.*Known"):
        find_agreement(AGREEMENTS_DIR, "nobody", TODAY)
    with pytest.raises(AgreementError, match="expired on 2025-12-31"):
        find_agreement(AGREEMENTS_DIR, "council-tax-reduction-pilot-2025", TODAY)


def test_an_agreement_may_not_reach_beyond_conformed_and_marts(tmp_path):
    path = tmp_path / "greedy.yaml"
    path.write_text(
        "consumer: x\npurpose: y\nlegal_basis: z\nexpires: 2030-01-01\n"
        "datasets:\n  staging.stg_hmrc__paye_income: [nino]\n"
    )
    with pytest.raises(AgreementError, match="not shareable"):
        load_agreement(path)


@pytest.fixture
def shared_dir(demo_warehouse, tmp_path, monkeypatch):
    source, _ = demo_warehouse
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(source / "warehouse.duckdb", target / "warehouse.duckdb")
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(target))
    return target


def test_extracts_hold_only_permitted_columns_and_cannot_be_joined(shared_dir):
    runner = CliRunner()
    for agreement in ("dwp-undeclared-income-review", "desnz-warm-homes-targeting"):
        result = runner.invoke(app, ["share", agreement, "--on", TODAY.isoformat()])
        assert result.exit_code == 0, result.output
    refused = runner.invoke(app, ["share", "council-tax-reduction-pilot-2025"])
    assert refused.exit_code == 1 and "expired" in refused.output

    extracts = shared_dir / "extracts"
    dwp = next(
        (extracts / "dwp-undeclared-income-review").glob("*/conformed.benefit_awards.parquet")
    )
    desnz = next(
        (extracts / "desnz-warm-homes-targeting").glob("*/conformed.benefit_awards.parquet")
    )
    dwp_table, desnz_table = pq.read_table(dwp), pq.read_table(desnz)
    assert dwp_table.column_names == [
        "award_key",
        "person_key",
        "benefit_type",
        "award_start",
        "award_end",
    ]
    assert desnz_table.column_names == ["person_key", "property_key", "benefit_type", "award_start"]

    with duckdb.connect(str(shared_dir / "warehouse.duckdb"), read_only=True) as con:
        platform = {
            k for (k,) in con.execute("select person_key from conformed.benefit_awards").fetchall()
        }
        log = con.execute(
            "select agreement_id, dataset, columns, rows from governance.sharing_log order by all"
        ).fetchall()
    dwp_keys = set(dwp_table.column("person_key").to_pylist())
    desnz_keys = set(desnz_table.column("person_key").to_pylist())
    assert len(dwp_keys) == len(platform) == len(desnz_keys), "one pseudonym per person kept"
    assert not dwp_keys & desnz_keys, "two consumers cannot join their extracts"
    assert not dwp_keys & platform, "nor join them to the platform's tables"
    assert {(a, d) for a, d, _, _ in log} == {
        ("desnz-warm-homes-targeting", "conformed.benefit_awards"),
        (
            "desnz-warm-homes-targeting",
            "marts_warm_homes.fuel_poverty_risk_by_local_authority_published",
        ),
        ("dwp-undeclared-income-review", "conformed.benefit_awards"),
        ("dwp-undeclared-income-review", "marts_undeclared_income.benefit_income_overlaps"),
    }
    assert all(rows > 0 for *_, rows in log)
