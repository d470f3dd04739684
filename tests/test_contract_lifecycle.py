"""Contract lifecycle: lint and diff on the command line, and the contracts registry asset."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster_duckdb import DuckDBResource
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.contracts import diff_contracts, load_contract, load_contracts
from orchestration.defs.governance.registry import build_contracts_asset
from orchestration.project import CONTRACTS_DIR

PAYE = CONTRACTS_DIR / "hmrc" / "paye_income.yaml"
runner = CliRunner()


def _copy(tmp_path: Path, mutate=None, name: str = "new") -> Path:
    doc = yaml.safe_load(PAYE.read_text())
    if mutate:
        mutate(doc)
    path = tmp_path / name / "hmrc" / "paye_income.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _prop(doc, name):
    return next(p for p in doc["schema"][0]["properties"] if p["name"] == name)


def test_lint_passes_every_repository_contract():
    result = runner.invoke(app, ["contracts", "lint"])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok") == len(load_contracts())


def test_lint_fails_naming_the_file_and_field(tmp_path):
    bad = _copy(tmp_path, lambda d: _prop(d, "nino")["customProperties"][0].update(value="x.y"))
    result = runner.invoke(app, ["contracts", "lint", str(PAYE), str(bad)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "paye_income.yaml" in flat
    assert "schema[0].properties[1].customProperties.standardAttribute" in flat
    assert "1 of 2 contracts are invalid" in flat


def _staging_name(prop: str, value):
    return lambda d: _prop(d, prop)["customProperties"].append(
        {"property": "stagingName", "value": value}
    )


def test_lint_accepts_a_staging_name(tmp_path):
    good = _copy(tmp_path, _staging_name("surname", "surname_text"))
    result = runner.invoke(app, ["contracts", "lint", str(good)])
    assert result.exit_code == 0, result.output
    assert load_contract(good).column("surname").staging_name == "surname_text"
    assert "stagingName" not in load_contract(good).column("surname").options


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("Surname-Text", "safe lower_snake_case"),
        ("nino", "also the name or staging name of property 'nino'"),
    ],
)
def test_lint_rejects_a_bad_staging_name_naming_file_and_field(tmp_path, value, words):
    bad = _copy(tmp_path, _staging_name("surname", value))
    result = runner.invoke(app, ["contracts", "lint", str(bad)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    # The console wraps a long temporary path anywhere, even inside the file name.
    assert "paye_income.yaml" in "".join(result.output.split())
    assert "schema[0].properties[3].customProperties.stagingName" in flat
    assert words in flat


def test_a_changed_staging_name_is_breaking(tmp_path):
    new = _copy(tmp_path, _staging_name("surname", "surname_text"))
    changes = diff_contracts(load_contract(PAYE), load_contract(new, check_location=False))
    assert [(c.breaking, c.field) for c in changes if "staging name" in c.message] == [
        (True, "column surname")
    ]


def _remove(name):
    return lambda d: d["schema"][0]["properties"].remove(_prop(d, name))


def _add(prop):
    return lambda d: d["schema"][0]["properties"].append(prop)


NEW_COLUMN = {
    "name": "employment_id",
    "physicalName": "EMPLOYMENT_ID",
    "logicalType": "string",
    "description": "Employment id.",
    "classification": "official",
    "customProperties": [{"property": "standardAttribute", "value": "record.id"}],
}


@pytest.mark.parametrize(
    ("mutate", "breaking", "field", "words"),
    [
        (_remove("tax_deducted"), True, "column tax_deducted", "removed"),
        (
            lambda d: _prop(d, "surname").update(name="family_name"),
            True,
            "column surname",
            "renamed to family_name",
        ),
        (
            lambda d: _prop(d, "surname").update(physicalName="LAST_NAME"),
            True,
            "column surname",
            "renamed",
        ),
        (
            lambda d: _prop(d, "tax_year").update(logicalType="integer"),
            True,
            "column tax_year",
            "narrowed",
        ),
        (_add({**NEW_COLUMN, "required": True}), True, "column employment_id", "required"),
        (
            lambda d: _prop(d, "postcode").update(required=True),
            True,
            "column postcode",
            "became required",
        ),
        (lambda d: _prop(d, "nino").update(primaryKey=True), True, "primary key", "nino"),
        (
            lambda d: _prop(d, "tax_year").update(classification="personal"),
            True,
            "column tax_year",
            "raised",
        ),
        (
            lambda d: d["customProperties"][1].update(value="special_category"),
            True,
            "classification",
            "raised",
        ),
        (_add(NEW_COLUMN), False, "column employment_id", "added (optional)"),
        (
            lambda d: _prop(d, "gross_pay").update(logicalType="string"),
            False,
            "column gross_pay",
            "widened",
        ),
        (
            lambda d: _prop(d, "nino").update(classification="official"),
            False,
            "column nino",
            "lowered",
        ),
        (
            lambda d: _prop(d, "nino").update(description="NI number."),
            False,
            "column nino",
            "description",
        ),
    ],
)
def test_diff_sorts_changes_into_breaking_and_not(tmp_path, mutate, breaking, field, words):
    old = load_contract(PAYE)
    new = load_contract(_copy(tmp_path, mutate))
    changes = [c for c in diff_contracts(old, new) if c.field == field]
    assert changes, diff_contracts(old, new)
    assert any(c.breaking == breaking and words in c.message for c in changes), changes


def test_diff_command_exits_non_zero_only_when_breaking(tmp_path):
    old = _copy(tmp_path, name="old")
    same = runner.invoke(app, ["contracts", "diff", str(old), str(PAYE)])
    assert same.exit_code == 0 and "No changes" in same.output
    widened = _copy(tmp_path, _add(NEW_COLUMN), name="widened")
    ok = runner.invoke(app, ["contracts", "diff", str(old), str(widened)])
    assert ok.exit_code == 0, ok.output
    assert "non-breaking column employment_id: added (optional)" in ok.output
    broken = _copy(tmp_path, _remove("nino"), name="broken")
    bad = runner.invoke(app, ["contracts", "diff", str(old), str(broken)])
    assert bad.exit_code == 1
    assert "BREAKING     column nino: removed" in bad.output
    assert "breaking changes need a new major version" in bad.output


def test_contracts_registry_asset(tmp_path):
    contracts = load_contracts()
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [build_contracts_asset(contracts)],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
    )
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select contract_id, version, status, owner, dataset, classification "
            "from governance.contracts order by contract_id"
        ).fetchall()
    assert len(rows) == len(contracts)
    assert (
        "urn:commonground:hmrc:paye_income",
        "1.0.0",
        "active",
        "rti-data@hmrc.example.gov.uk",
        "paye_income",
        "personal",
    ) in rows


def _on_invalid(value: str):
    return lambda d: _prop(d, "gross_pay")["customProperties"].append(
        {"property": "onInvalid", "value": value}
    )


def test_diff_reads_on_invalid_null_as_loosening_and_back_as_breaking(tmp_path):
    quarantined = load_contract(_copy(tmp_path, name="old"))
    nulled = load_contract(_copy(tmp_path, _on_invalid("null"), name="new"))
    [loosened] = diff_contracts(quarantined, nulled)
    assert not loosened.breaking and "onInvalid quarantine -> null" in loosened.message
    tightened = diff_contracts(nulled, quarantined)
    assert [c.message for c in tightened if c.breaking] == ["onInvalid null -> quarantine"]


def test_lint_names_a_date_pattern_that_cannot_be_read(tmp_path):
    bad = _copy(
        tmp_path,
        lambda d: _prop(d, "date_of_birth")["logicalTypeOptions"].update(format="dmyyyy"),
    )
    result = runner.invoke(app, ["contracts", "lint", str(bad)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "schema[0].properties[4].logicalTypeOptions.format" in flat
    assert "needs a separator" in flat
