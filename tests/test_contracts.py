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


# --- the vocabulary that onboards any department by contract alone -----------------------

NEW_DEPARTMENT = Path(__file__).parent / "data" / "contracts" / "centrelink" / "payments.yaml"


def test_a_department_of_another_country_uses_the_whole_vocabulary():
    contract = load_contract(NEW_DEPARTMENT)
    assert contract.country == "AU"
    assert contract.expected_link_rate == 0.8
    crn = contract.column("crn")
    assert (crn.standard_attribute, crn.identifier_scheme) == (
        "person.identifier",
        "au.centrelink_crn",
    )
    assert contract.column("birth_date").options["format"] == "yyyymmdd"
    assert contract.column("birth_date").on_invalid == "quarantine"
    assert contract.column("paid_on").on_invalid == "null"
    assert not contract.column("office_notes").conformed
    assert {c.standard_attribute for c in contract.columns} >= {
        "address.house_number",
        "address.street",
        "address.locality",
        "address.region",
        "address.postal_code",
    }


def test_contracts_without_the_new_properties_keep_their_defaults(contracts):
    for contract in contracts.values():
        assert contract.country == "" and contract.expected_link_rate is None
        assert all(c.on_invalid == "quarantine" and c.conformed for c in contract.columns)


@pytest.mark.parametrize(
    "fmt", ["yyyymmdd", "dd.mm.yyyy", "d MMM yyyy", "mm/dd/yyyy", "yymmdd", "MMM d, yyyy"]
)
def test_date_patterns_are_accepted(tmp_path, fmt):
    path = _broken(
        tmp_path, lambda d: _prop(d, "date_of_birth")["logicalTypeOptions"].update(format=fmt)
    )
    assert load_contract(path).column("date_of_birth").options["format"] == fmt


def _custom(prop: str, key: str, value):
    return lambda d: _prop(d, prop)["customProperties"].append({"property": key, "value": value})


def _top(key: str, value):
    return lambda d: d["customProperties"].append({"property": key, "value": value})


def _format(value: str):
    return lambda d: _prop(d, "date_of_birth")["logicalTypeOptions"].update(format=value)


DOB = "schema[0].properties[4]"
NINO = "schema[0].properties[1]"


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (_format("yyyy-dd"), f"{DOB}.logicalTypeOptions.format", "has no month"),
        (_format("dd-mm"), f"{DOB}.logicalTypeOptions.format", "has no year"),
        (_format("yyyy-mm-dd-dd"), f"{DOB}.logicalTypeOptions.format", "repeats the day"),
        (_format("yyyy-mm-qq"), f"{DOB}.logicalTypeOptions.format", "'qq' is not a date token"),
        (_format("yyyy-MM-dd"), f"{DOB}.logicalTypeOptions.format", "'MM' is not a date token"),
        (_format("dmyyyy"), f"{DOB}.logicalTypeOptions.format", "needs a separator"),
        (_format("yyyymd"), f"{DOB}.logicalTypeOptions.format", "needs a separator"),
        (_format("dd%mm%yyyy"), f"{DOB}.logicalTypeOptions.format", "cannot separate"),
        (
            lambda d: _prop(d, "nino")["customProperties"][0].update(value="address.zip"),
            f"{NINO}.customProperties.standardAttribute",
            "address.postal_code, address.postcode",
        ),
        (
            lambda d: _prop(d, "nino")["customProperties"][0].update(value="person.identifier"),
            f"{NINO}.customProperties.identifierScheme",
            "needs its scheme",
        ),
        (
            lambda d: (
                _prop(d, "nino")["customProperties"][0].update(value="person.identifier"),
                _custom("nino", "identifierScheme", "AU SSN")(d),
            ),
            f"{NINO}.customProperties.identifierScheme",
            "lower-case dotted",
        ),
        (
            _custom("nino", "identifierScheme", "uk.nino"),
            f"{NINO}.customProperties.identifierScheme",
            "only a person.identifier",
        ),
        (_custom("nino", "onInvalid", "drop"), f"{NINO}.customProperties.onInvalid", "drop"),
        (
            lambda d: _prop(d, "record_id")["customProperties"][0].update(value="none"),
            "schema[0].properties[0].customProperties.standardAttribute",
            "primary-key",
        ),
        (_top("country", "UK"), "customProperties.country", "ISO 3166"),
        (_top("country", "AUS"), "customProperties.country", "ISO 3166"),
        (_top("expectedLinkRate", 0), "customProperties.expectedLinkRate", "(0, 1]"),
        (_top("expectedLinkRate", 1.5), "customProperties.expectedLinkRate", "(0, 1]"),
        (_top("expectedLinkRate", "high"), "customProperties.expectedLinkRate", "(0, 1]"),
    ],
)
def test_an_invalid_vocabulary_word_names_the_file_and_the_field(tmp_path, mutate, field, words):
    path = _broken(tmp_path, mutate)
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert caught.value.path == str(path)
    assert caught.value.field_path == field, caught.value.field_path
    assert words in str(caught.value)


def test_a_lower_case_country_and_a_whole_link_rate_are_read(tmp_path):
    path = _broken(tmp_path, lambda d: (_top("country", "nz")(d), _top("expectedLinkRate", 1)(d)))
    contract = load_contract(path)
    assert (contract.country, contract.expected_link_rate) == ("NZ", 1.0)


def test_the_foreign_example_contracts_are_valid_with_a_user_assigned_country():
    """The foreign profile's country is fictional: ISO 3166's user-assigned XX is accepted."""
    examples = sorted((CONTRACTS_DIR.parent / "examples" / "foreign").glob("*/*.yaml"))
    assert len(examples) == 3
    for path in examples:
        assert load_contract(path).country == "XX"
