"""Onboarding by contract: a department not in the demo flows end to end with no code.

The worked example of the README (DVLA driving licences) is onboarded into a copy of the
repository's dbt project: the generated source and staging model, the person union
regenerated from every contract, a real Dagster materialization of the ingest asset the
contract yields, then ``dbt build`` up to the person records.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.contracts import (
    MARKER,
    load_contract,
    load_contracts,
    onboard,
    onboarding,
    person_union_path,
    render_person_union,
)
from orchestration.defs.ingest.assets import build_ingest_asset
from orchestration.ingest import ensure_warehouse
from orchestration.project import CONTRACTS_DIR, DBT_PROJECT_DIR, REPO_ROOT, dbt_executable

EXAMPLE = REPO_ROOT / "expectations" / "examples" / "dvla" / "driving_licences.yaml"
HEADER = (
    "Driver Number,First Names,Last Name,Date of Birth,Gender,Address Line 1,Postcode,Issue Date"
)
ROWS = [
    "MORGA753116SM9IJ,Sarah Jane,Morgan,11/06/1975,F,1 Mill Lane,ls14ab,2019-03-02",
    "JONES710238HA3DX,Hywel,Jones,23/10/1971,M,2 Mill Lane,LS1 4AB,2020-07-15",
    "SMITH801012JS8AB,John,Smith,12/10/1980,Q,3 Mill Lane,LS1 4AB,2021-01-01",
]


def test_the_checked_in_person_union_is_generated_from_the_contracts():
    current = person_union_path(DBT_PROJECT_DIR).read_text(encoding="utf-8")
    assert current == render_person_union(load_contracts()), (
        "int_person_records_unioned.sql is stale: run `commonground onboard <contract>`"
    )
    assert MARKER in current


def test_onboard_check_passes_and_every_staging_model_is_generated():
    result = CliRunner().invoke(app, ["onboard", "--check"])
    assert result.exit_code == 0, result.output
    staging = DBT_PROJECT_DIR / "models" / "staging"
    files = sorted(staging.rglob("*.sql")) + sorted(staging.rglob("*.yml"))
    assert len(files) == 3 * len(load_contracts())
    for path in files:
        assert MARKER in path.read_text(encoding="utf-8"), f"{path} is not generated"


@pytest.fixture
def staging_copy(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the staging models and the person union that onboarding writes to."""
    dbt_dir = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR / "models" / "staging", dbt_dir / "models" / "staging")
    union = person_union_path(dbt_dir)
    union.parent.mkdir(parents=True)
    shutil.copy(person_union_path(DBT_PROJECT_DIR), union)
    monkeypatch.setattr(onboarding, "DBT_PROJECT_DIR", dbt_dir)
    return dbt_dir


def test_a_stale_generated_file_fails_onboard_check(staging_copy):
    models = staging_copy / "models" / "staging" / "hmrc" / "_hmrc__paye_income__models.yml"
    models.write_text(models.read_text(encoding="utf-8") + "# edited by hand\n")
    result = CliRunner().invoke(app, ["onboard", "--check"])
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "updated" in flat and "_hmrc__paye_income__models.yml" in flat
    assert "1 generated file(s) out of date" in flat
    assert models.read_text(encoding="utf-8").endswith("# edited by hand\n")


def test_onboarding_a_dataset_with_a_hand_written_model_keeps_it(staging_copy):
    model = staging_copy / "models" / "staging" / "hmrc" / "stg_hmrc__paye_income.sql"
    model.write_text(model.read_text(encoding="utf-8").replace(MARKER, "written by hand"))
    results = onboard(CONTRACTS_DIR / "hmrc" / "paye_income.yaml", check=True)
    assert [(r.path.name, r.action) for r in results] == [
        ("stg_hmrc__paye_income.sql", "kept"),
        ("int_person_records_unioned.sql", "unchanged"),
    ]


def test_staging_names_come_from_the_contract():
    contract = load_contract(CONTRACTS_DIR / "dluhc" / "energy_certificates.yaml")
    names = onboarding.staging_names(contract)
    assert names["current_energy_rating"] == "energy_rating"
    assert names["total_floor_area"] == "total_floor_area_m2"
    assert names["lmk_key"] == "lmk_key"
    sql = onboarding.render_staging_sql(contract)
    assert "{{ standardise('main_fuel', 'code.main_fuel') }} as main_fuel_text," in sql


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        DBT_PROJECT_DIR,
        root / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    shutil.copytree(CONTRACTS_DIR, root / "contracts")
    (root / "contracts" / "dvla").mkdir()
    shutil.copy(EXAMPLE, root / "contracts" / "dvla" / "driving_licences.yaml")
    return root


def test_a_new_department_flows_from_contract_to_person_records(repo_copy, data_dir):
    contracts_dir, dbt_dir = repo_copy / "contracts", repo_copy / "dbt_project"
    contract_path = contracts_dir / "dvla" / "driving_licences.yaml"

    first = onboard(contract_path, contracts_dir, dbt_dir)
    assert [(r.path.name, r.action) for r in first] == [
        ("stg_dvla__driving_licences.sql", "created"),
        ("_dvla__driving_licences__sources.yml", "created"),
        ("_dvla__driving_licences__models.yml", "created"),
        ("int_person_records_unioned.sql", "updated"),
    ]
    assert {r.action for r in onboard(contract_path, contracts_dir, dbt_dir)} == {"unchanged"}
    assert "ref('stg_dvla__driving_licences')" in person_union_path(dbt_dir).read_text()

    # The ingest asset comes from the contract: a real Dagster materialization.
    contract = load_contract(contract_path)
    delivery = data_dir / "landing" / "dvla" / "driving_licences" / "licences_2026-04.csv"
    delivery.parent.mkdir(parents=True)
    delivery.write_text("\n".join([HEADER, *ROWS]) + "\n")
    warehouse = data_dir / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_warehouse(con, load_contracts(contracts_dir))
    result = dg.materialize(
        [build_ingest_asset(contract)],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
    )
    assert result.success
    metadata = result.asset_materializations_for_node(build_ingest_asset(contract).op.name)[
        0
    ].metadata
    assert metadata["files_loaded"].value == 1
    assert metadata["rows_quarantined_this_run"].value == 1

    # The generated dbt source and staging model feed the person records.
    env = {
        **os.environ,
        "COMMONGROUND_WAREHOUSE": str(warehouse),
        "DBT_PROFILES_DIR": str(dbt_dir),
        # The person union keys every record with a pseudonym.
        "COMMONGROUND_PSEUDONYM_KEY": "0123456789abcdef" * 4,
    }
    build = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--select",
            "+int_person_records_unioned",
            "--indirect-selection",
            "cautious",
            "--quiet",
            "--target-path",
            str(repo_copy / "target"),
        ],
        cwd=dbt_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = con.execute(
            "select person_record_id, given_name, family_name, date_of_birth, sex, postcode, "
            "uprn, nino from intermediate.int_person_records_unioned "
            "where department = 'dvla' order by 1"
        ).fetchall()
        held = con.execute(
            "select _row_number, column_name, rule, raw_value "
            "from quarantine.dvla__driving_licences"
        ).fetchall()
    assert [p[0] for p in people] == [
        "dvla:driving_licences:JONES710238HA3DX",
        "dvla:driving_licences:MORGA753116SM9IJ",
    ]
    morgan = people[1]
    assert morgan[1:6] == (
        "SARAH JANE",
        "MORGAN",
        __import__("datetime").date(1975, 6, 11),
        "2",
        "LS1 4AB",
    )
    assert morgan[6:] == (None, None)
    assert held == [(3, "gender", "allowed_values", "Q")]
