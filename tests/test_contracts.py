"""Contracts: the repository's contracts are valid; broken ones fail naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.contracts import ContractError, load_contract
from orchestration.project import CONTRACTS_DIR

EXPECTED = {
    "hmrc__paye_income": "csv",
    "dwp__benefit_awards": "json",
    "nhs__gp_registrations": "parquet",
    "nhs__data_opt_outs": "parquet",
    "dluhc__energy_certificates": "csv",
    "council__council_tax": "xlsx",
    "dfe__school_census": "csv",
}


def test_every_department_dataset_has_a_valid_contract(contracts):
    assert {name: c.format for name, c in contracts.items()} == EXPECTED
    for c in contracts.values():
        assert c.primary_key, c.id
        assert c.owner and c.legal_basis and c.purpose
        assert c.frequency_days > 0 and c.latency_days > 0
        assert all(
            r.dimension
            in {"accuracy", "completeness", "consistency", "timeliness", "uniqueness", "validity"}
            for r in c.quality
        )


def test_odcs_conformity_is_read_as_gdqf_validity(contracts):
    rule = next(
        r for r in contracts["dwp__benefit_awards"].quality if r.name == "benefit_type_known"
    )
    assert rule.dimension == "validity"
    assert rule.severity == "ERROR"
    assert rule.column == "benefit_type"
    assert rule.arguments["validValues"][0] == "UC"


def test_columns_map_delivered_headers_to_standard_attributes(contracts):
    nino = contracts["hmrc__paye_income"].column("nino")
    assert nino.physical_name == "NINO"
    assert nino.standard_attribute == "person.nino"
    assert nino.classification == "personal"
    dob = contracts["council__council_tax"].column("liability_start")
    assert dob.physical_name == "Liability Start"
    assert dob.options["format"] == "excel"


def _broken(tmp_path: Path, mutate) -> Path:
    source = CONTRACTS_DIR / "hmrc" / "paye_income.yaml"
    doc = yaml.safe_load(source.read_text())
    mutate(doc)
    target = tmp_path / "hmrc" / "paye_income.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


def _prop(doc, name):
    return next(p for p in doc["schema"][0]["properties"] if p["name"] == name)


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (
            lambda d: _prop(d, "nino").update(logicalType="text"),
            "schema[0].properties[1].logicalType",
            "ODCS",
        ),
        (lambda d: d.pop("apiVersion"), "(root)", "apiVersion"),
        (
            lambda d: _prop(d, "nino")["customProperties"][0].update(value="person.nin"),
            "schema[0].properties[1].customProperties.standardAttribute",
            "person.nin",
        ),
        (lambda d: _prop(d, "record_id").pop("primaryKey"), "schema[0].properties", "primaryKey"),
        (
            lambda d: _prop(d, "surname").pop("classification"),
            "schema[0].properties[3].classification",
            "classification",
        ),
        (
            lambda d: _prop(d, "nino")["quality"][0].update(dimension="validity"),
            "schema[0].properties[1].quality[0]",
            "dimension",
        ),
        (
            lambda d: _prop(d, "nino")["quality"][0].pop("severity"),
            "schema[0].properties[1].quality[0].severity",
            "severity",
        ),
        (
            lambda d: d["customProperties"][0].update(value="dwp"),
            "customProperties.department",
            "folder",
        ),
        (
            lambda d: _prop(d, "surname").update(name="surname; drop table x"),
            "schema[0].properties[3].name",
            "safe",
        ),
        (lambda d: d["slaProperties"].pop(0), "slaProperties[frequency]", "frequency"),
        (
            lambda d: _prop(d, "surname")["customProperties"].append(
                {"property": "stagingName", "value": "family name"}
            ),
            "schema[0].properties[3].customProperties.stagingName",
            "safe",
        ),
        (
            lambda d: [
                _prop(d, n)["customProperties"].append(
                    {"property": "stagingName", "value": "family_name"}
                )
                for n in ("forenames", "surname")
            ],
            "schema[0].properties[3].customProperties.stagingName",
            "also the name",
        ),
    ],
)
def test_an_invalid_contract_names_the_file_and_the_field(tmp_path, mutate, field, words):
    path = _broken(tmp_path, mutate)
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert caught.value.path == str(path)
    assert caught.value.field_path.startswith(field), caught.value.field_path
    assert words.lower() in str(caught.value).lower()


def test_a_file_that_is_not_yaml_is_named(tmp_path):
    path = tmp_path / "hmrc" / "paye_income.yaml"
    path.parent.mkdir()
    path.write_text("apiVersion: [unclosed")
    with pytest.raises(ContractError, match="paye_income.yaml: \\(file\\): not valid YAML"):
        load_contract(path)
