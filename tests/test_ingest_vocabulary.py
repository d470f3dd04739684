"""A department onboarded by contract alone: date patterns, onInvalid, format drift and a
dataset that has never had a delivery (tests/data/contracts/centrelink/payments.yaml)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.contracts import load_contract, render_models_yaml, render_staging_sql
from orchestration.defs.quality.checks import (
    build_drift_checks,
    build_suite_checks,
    contract_assets,
)
from orchestration.ingest import ingest_dataset
from orchestration.quality import GreatExpectationsResource
from orchestration.quality.deliveries import delivery_expected, format_drift

CONTRACT = Path(__file__).parent / "data" / "contracts" / "centrelink" / "payments.yaml"
HEADER = "Payment ID,CRN,Birth Date,Paid On,Amount,House,Street,Suburb,State,Postcode,Office Notes"


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT)


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def _deliver(landing: Path, name: str, rows: list[str]) -> None:
    folder = landing / "centrelink" / "payments"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


GOOD = "P1, ab123 ,19890213,3 Jan 2024,12.50,12a,George St,Sydney,NSW,2000 ,call back"
IMPOSSIBLE_BIRTH = "P2,CD456,19890231,4 Jan 2024,10,1,Pitt St,Sydney,NSW,2000,"
NULLED = "P3,EF789,19900101,2024-01-05,abc,2,King St,Melbourne,XX,3000,"


def test_an_impossible_date_is_quarantined_and_on_invalid_null_counts_in_the_log(
    tmp_path, con, contract
):
    landing = tmp_path / "landing"
    _deliver(landing, "payments.csv", [GOOD, IMPOSSIBLE_BIRTH, NULLED])
    [outcome] = ingest_dataset(con, contract, landing, "run-1")
    assert (outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == (3, 2, 1)
    quarantined = con.execute(
        "select payment_id_row, column_name, rule, raw_value from (select _row_number as "
        "payment_id_row, column_name, rule, raw_value from quarantine.centrelink__payments)"
    ).fetchall()
    assert quarantined == [(2, "birth_date", "type", "19890231")]
    loaded = con.execute(
        "select payment_id, paid_on, amount, state from raw.centrelink__payments order by 1"
    ).fetchall()
    # Raw keeps the delivered text; the row with invalid values loaded.
    assert loaded == [("P1", "3 Jan 2024", "12.50", "NSW"), ("P3", "2024-01-05", "abc", "XX")]
    logged = con.execute("select values_nulled from governance.ingestion_log").fetchone()[0]
    assert json.loads(logged) == {"paid_on": 1, "amount": 1, "state": 1}


def test_a_contract_without_on_invalid_null_logs_no_counts(tmp_path, con, contracts):
    landing = tmp_path / "landing"
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "p.csv").write_text(
        "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
        "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED\n"
        "P1,AB123456C,JOHN,SMITH,01/02/1980,LS1 4AB,123/AB45678,2025-26,06/04/2025,"
        "05/04/2026,£1.00,£0.00\n"
    )
    ingest_dataset(con, contracts["hmrc__paye_income"], landing, "run-1")
    assert con.execute("select values_nulled from governance.ingestion_log").fetchone() == (None,)


def test_the_staging_model_nulls_leaves_out_and_pseudonymises_by_contract(contract):
    sql = render_staging_sql(contract)
    assert "office_notes" not in sql
    assert "as postal_code," in sql and "as locality," in sql and "as region," in sql
    assert (
        "{{ pseudonymise('crn', 'au.centrelink_crn') }} as identifier_au_centrelink_crn_pseudonym"
        in sql
    )
    assert "{{ standardise('birth_date', 'person.date_of_birth', {'format': 'yyyymmdd'}) }}" in sql
    # onInvalid: null on an allowedValues column: staging nulls what the door let through.
    assert (
        "case when not (" in sql and "then {{ standardise('state', 'address.region') }} end" in sql
    )
    models = render_models_yaml(contract)
    assert "office_notes" not in models
    assert "identifier_au_centrelink_crn_pseudonym" in models and "'au.centrelink_crn:'" in models


def test_a_delivery_in_another_date_format_fails_the_blocking_drift_check(tmp_path, con, contract):
    landing = tmp_path / "landing"
    _deliver(landing, "a.csv", [GOOD, NULLED])
    ingest_dataset(con, contract, landing, "run-1")
    healthy = format_drift(con, contract)
    assert healthy.success and healthy.severity == "ERROR"
    # The next delivery writes dates of birth as dd/mm/yyyy: every row is quarantined.
    rows = [f"Q{i},X{i},13/02/1989,{i + 1} Feb 2024,1,1,A St,Perth,WA,6000," for i in range(1, 5)]
    _deliver(landing, "b.csv", [*rows, "Q9,X9,19890213,1 Mar 2024,1,1,A St,Perth,WA,6000,"])
    ingest_dataset(con, contract, landing, "run-2")
    drift = format_drift(con, contract)
    assert not drift.success
    assert drift.severity == "ERROR" and drift.dimension == "validity"
    assert "birth_date (1 of 5 parse)" in drift.observed_value
    assert "paid_on" not in drift.observed_value
    # A date of birth is a direct identifier: its samples are masked.
    assert drift.samples == ("birth_date: ***",)


def test_on_invalid_null_values_count_towards_drift(tmp_path, con, contract):
    landing = tmp_path / "landing"
    rows = [f"R{i},Y{i},19890213,2024-01-0{i},1,1,A St,Perth,WA,6000," for i in range(1, 4)]
    _deliver(landing, "c.csv", [*rows, GOOD])
    ingest_dataset(con, contract, landing, "run-1")
    drift = format_drift(con, contract)
    assert not drift.success
    assert "paid_on (1 of 4 parse)" in drift.observed_value
    assert "paid_on: 2024-01-01" in drift.samples


def test_a_dataset_never_delivered_is_not_judged_until_its_sla_says_overdue(
    tmp_path, con, contract
):
    landing = tmp_path / "landing"
    ingest_dataset(con, contract, landing, "run-1")  # nothing delivered: tables exist, empty
    assert con.execute("select count(*) from raw.centrelink__payments").fetchone()[0] == 0
    assert not delivery_expected(con, contract)
    assert format_drift(con, contract).success
    # A contract in force for longer than its SLA (7 + 7 days) expects a delivery.
    old = datetime.now(UTC) - timedelta(days=20)
    overdue = type(contract)(
        **{
            **contract.__dict__,
            "document": {**contract.document, "contractCreatedTs": old.isoformat()},
        }
    )
    assert delivery_expected(con, overdue)
    recent = type(contract)(
        **{
            **contract.__dict__,
            "document": {**contract.document, "contractCreatedTs": datetime.now(UTC).isoformat()},
        }
    )
    assert not delivery_expected(con, recent)
    _deliver(landing, "first.csv", [GOOD])
    ingest_dataset(con, contract, landing, "run-2")
    assert delivery_expected(con, contract)


def _run_raw_checks(tmp_path: Path, contract, landing: Path) -> dict[str, tuple[bool, str]]:
    """Materializes the contract's raw asset (an ingest of ``landing``) with its quality and
    drift checks in Dagster; returns check name -> (passed, severity)."""
    database = str(tmp_path / "warehouse.duckdb")

    @dg.asset(key=["raw", contract.raw_table])
    def raw(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as connection:
            ingest_dataset(connection, contract, landing, "run")

    result = dg.materialize(
        [
            raw,
            build_suite_checks("raw_quality_checks", contract_assets([contract])),
            build_drift_checks([contract]),
        ],
        resources={
            "warehouse": DuckDBResource(database=database),
            "great_expectations": GreatExpectationsResource(
                database=database,
                docs_dir=str(tmp_path / "docs"),
                store_dir=str(tmp_path / "gx"),
            ),
        },
        raise_on_error=False,
    )
    return {
        e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()
    }


def test_in_dagster_a_never_delivered_dataset_passes_and_drift_blocks(tmp_path, contracts):
    paye = contracts["hmrc__paye_income"]
    landing = tmp_path / "landing"
    empty = _run_raw_checks(tmp_path, paye, landing)
    # delivery_not_empty (ERROR) does not block a dataset that has never been delivered.
    assert empty["delivery_not_empty"] == (True, "ERROR")
    assert empty["format_drift"] == (True, "ERROR")
    assert all(passed for passed, _ in empty.values())
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    rows = [
        f"P{i},AB123456C,JOHN,SMITH,1980-02-0{i},LS1 4AB,123/AB45678,2025-26,06/04/2025,"
        "05/04/2026,£1.00,£0.00"
        for i in range(1, 4)
    ]
    (folder / "p.csv").write_text(
        "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
        "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED\n" + "\n".join(rows) + "\n"
    )
    drifted = _run_raw_checks(tmp_path, paye, landing)
    assert drifted["format_drift"] == (False, "ERROR")
    # Every row was quarantined: now that the dataset has had a delivery, the empty batch
    # fails delivery_not_empty too.
    assert drifted["delivery_not_empty"] == (False, "ERROR")


@pytest.mark.parametrize(
    ("on_invalid", "loaded", "quarantined"), [("quarantine", 1, 1), ("null", 2, 0)]
)
def test_an_identifier_declaring_on_invalid_is_checked_at_the_door(
    tmp_path, con, contracts, on_invalid, loaded, quarantined
):
    paye = contracts["hmrc__paye_income"]
    columns = tuple(
        dataclasses.replace(c, on_invalid=on_invalid, on_invalid_declared=True)
        if c.name == "nino"
        else c
        for c in paye.columns
    )
    contract = dataclasses.replace(paye, columns=columns)
    folder = tmp_path / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "p.csv").write_text(
        "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
        "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED\n"
        "P1,AB 12 34 56 C,JOHN,SMITH,01/02/1980,LS1 4AB,123/AB45678,2025-26,06/04/2025,"
        "05/04/2026,£1.00,£0.00\n"
        "P2,GB123456A,MARY,JONES,01/02/1980,LS1 4AB,123/AB45678,2025-26,06/04/2025,"
        "05/04/2026,£1.00,£0.00\n"
    )
    [outcome] = ingest_dataset(con, contract, tmp_path / "landing", "run-1")
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (loaded, quarantined)
    logged = con.execute("select values_nulled from governance.ingestion_log").fetchone()[0]
    if on_invalid == "null":
        assert json.loads(logged) == {"nino": 1}
    else:
        assert logged is None
        assert con.execute(
            "select column_name, rule, message from quarantine.hmrc__paye_income"
        ).fetchall() == [("nino", "format", "not a valid nino")]
