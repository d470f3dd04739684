"""Suites: generated from contracts, hand-written for conformed tables and marts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.contracts import load_contract
from orchestration.ingest import ingest_dataset
from orchestration.quality import (
    check_specs,
    contract_suite,
    load_suites,
    raw_relation_sql,
    validate,
)
from orchestration.quality.suites import contract_checks
from orchestration.standards import GDQF_DIMENSIONS

VALID_NHS = ["9434765919", "4010232137", "9876543210"]


def test_hand_written_suites_load_with_one_dimension_and_severity_each():
    sources = load_suites()
    names = {s.dataset for s in sources}
    assert {"conformed.person_records", "conformed.income", "conformed.properties"} <= names
    assert any(s.layer == "marts" for s in sources)
    for source in sources:
        specs = check_specs(source.suite)
        assert specs, source.dataset
        assert all(s.dimension in GDQF_DIMENSIONS for s in specs)
        assert all(s.severity in {"ERROR", "WARN"} for s in specs)
        assert set(source.targets) <= set(GDQF_DIMENSIONS)
    # build_suite() is pure: building again gives the same checks.
    again = {s.dataset: [c.check_name for c in check_specs(s.suite)] for s in load_suites()}
    assert again == {s.dataset: [c.check_name for c in check_specs(s.suite)] for s in sources}


def test_every_contract_rule_becomes_one_check_with_its_dimension(contracts):
    for contract in contracts.values():
        specs = check_specs(contract_suite(contract).suite)
        assert [s.check_name for s in specs] == [r.name for r in contract.quality]
        assert [(s.dimension, s.severity) for s in specs] == [
            (r.dimension, r.severity) for r in contract.quality
        ]
    assert contracts["nhs__gp_registrations"].quality_targets["validity"] == 98


def _gp_registrations(path, numbers: list[str]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.nhs__gp_registrations (registration_id varchar, "
            "nhs_number varchar, _batch_id varchar, _loaded_at timestamp)"
        )
        # An older batch full of bad numbers: only the latest delivery is judged.
        con.executemany(
            "insert into raw.nhs__gp_registrations values (?, ?, 'old', '2026-01-01')",
            [[f"old{i}", "1234567890"] for i in range(50)],
        )
        con.executemany(
            "insert into raw.nhs__gp_registrations values (?, ?, 'new', '2026-02-01')",
            [[f"r{i}", n] for i, n in enumerate(numbers)],
        )


@pytest.mark.parametrize(
    ("invalid_share", "passes"), [(0.0, True), (0.01, True), (0.2, False)], ids=str
)
def test_nhs_numbers_must_pass_mod_11(tmp_path, contracts, invalid_share, passes):
    numbers = [
        VALID_NHS[i % 3] if i % 100 >= invalid_share * 100 else "9434765918" for i in range(500)
    ]
    path = tmp_path / "w.duckdb"
    _gp_registrations(path, numbers)
    outcomes = validate(
        database=path,
        connection_config={},
        dataset="raw.nhs__gp_registrations",
        relation_sql=raw_relation_sql("nhs__gp_registrations"),
        suite=contract_suite(contracts["nhs__gp_registrations"]).suite,
        run_name="t",
    )
    by_name = {o.check_name: o for o in outcomes}
    valid = by_name["nhs_number_valid"]
    assert valid.error is None
    assert valid.success is passes
    assert valid.unexpected_percent == pytest.approx(invalid_share * 100)
    assert by_name["delivery_not_empty"].observed_value == "500"


def test_on_invalid_null_columns_get_a_warn_validity_check_counting_the_nulled(tmp_path):
    contract = load_contract(
        Path(__file__).parents[1] / "data" / "contracts" / "centrelink" / "payments.yaml"
    )
    generated = [c for c in contract_checks(contract) if c[0].endswith("_values_nulled")]
    assert [(n, d, s) for n, d, s, _ in generated] == [
        ("paid_on_values_nulled", "validity", "WARN"),
        ("amount_values_nulled", "validity", "WARN"),
        ("state_values_nulled", "validity", "WARN"),
    ]
    folder = tmp_path / "landing" / "centrelink" / "payments"
    folder.mkdir(parents=True)
    (folder / "p.csv").write_text(
        "Payment ID,CRN,Birth Date,Paid On,Amount,House,Street,Suburb,State,Postcode,"
        "Office Notes\n"
        "P1,A1,19890213,3 Jan 2024,12.50,1,A St,Perth,WA,6000,\n"
        "P2,A2,19890213,2024-01-03,1,1,A St,Perth,WA,6000,\n"
        "P3,A3,19890213,yesterday,1,1,A St,Perth,Perth,6000,\n"
    )
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        ingest_dataset(con, contract, tmp_path / "landing", "run-1")
    outcomes = validate(
        database=path,
        connection_config={},
        dataset="raw.centrelink__payments",
        relation_sql=raw_relation_sql("centrelink__payments"),
        suite=contract_suite(contract).suite,
        run_name="t",
    )
    by_name = {o.check_name: o for o in outcomes}
    assert by_name["paid_on_values_nulled"].unexpected_count == 2
    assert not by_name["paid_on_values_nulled"].success
    assert set(by_name["paid_on_values_nulled"].samples) == {"2024-01-03", "yesterday"}
    assert by_name["state_values_nulled"].unexpected_count == 1
    assert by_name["amount_values_nulled"].success
