"""The person model is built from the attributes the record sources share: the UK sample
departments get the tuned model, a foreign source set gets comparisons and blocking rules for
its postal codes, address parts and identifiers, and training never ends in a math error."""

from __future__ import annotations

import duckdb
import pytest

from orchestration import linkage

FOREIGN = frozenset(
    {
        "given_name",
        "family_name",
        "date_of_birth",
        "postal_code",
        "house_number",
        "street",
        "locality",
        "region",
        "identifier_xx_social_security_pseudonym",
    }
)


def _compared(attributes) -> list[str]:
    return [
        c.get_comparison("duckdb").output_column_name
        for c in linkage.person_comparisons(attributes)
    ]


def _rules(attributes) -> list[str]:
    settings = linkage.person_settings(attributes).get_settings("duckdb").as_dict()
    return [r["blocking_rule"] for r in settings["blocking_rules_to_generate_predictions"]]


def test_the_demo_attributes_give_the_tuned_model():
    assert _compared(linkage.DEMO_ATTRIBUTES) == [
        "given_name",
        "family_name",
        "date_of_birth",
        "postcode",
        "uprn",
        "sex",
        "nino",
        "nhs_number",
    ]
    rules = _rules(linkage.DEMO_ATTRIBUTES)
    assert len(rules) == 10
    assert '(l."date_of_birth" = r."date_of_birth") AND (l."postcode" = r."postcode")' in rules
    assert rules[:2] == ['l."nino" = r."nino"', 'l."nhs_number" = r."nhs_number"']
    assert not any("postal_code" in r or "substr" in r for r in rules)


def test_a_foreign_source_set_gets_comparisons_and_rules_for_its_attributes():
    compared = _compared(FOREIGN)
    assert "address" in compared, "the address parts are compared as one address"
    assert not {"postal_code", "house_number", "street", "locality", "region"} & set(compared)
    assert "identifier_xx_social_security_pseudonym" in compared
    assert not {"nino", "nhs_number", "postcode", "uprn", "sex"} & set(compared)
    rules = _rules(FOREIGN)
    assert rules[0] == (
        'l."identifier_xx_social_security_pseudonym" = r."identifier_xx_social_security_pseudonym"'
    )
    assert not any("nino" in r or "nhs_number" in r or '"postcode"' in r for r in rules)
    joined = " | ".join(rules)
    assert '(l."postal_code" = r."postal_code") AND (l."house_number" = r."house_number")' in joined
    assert 'l."family_name" = r."family_name") AND (l."postal_code" = r."postal_code")' in joined
    assert "SUBSTR" in joined.upper(), "a family-name key with the birth year"


def _records(with_identifier: bool) -> duckdb.DuckDBPyConnection:
    """Two small sources of the same 60 people, the second with typos in some names."""
    con = duckdb.connect()
    rows = []
    given = ["ANNA", "BORIS", "CARLA", "DMITRI", "ELENA", "FELIX", "GRETA", "HUGO", "IRIS", "JONAS"]
    family = ["MUELLER", "SCHMIDT", "WAGNER", "BECKER", "HOFFMANN", "KOCH"]
    for i in range(60):
        g, f = given[i % 10], family[i // 10]
        dob = f"19{50 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        for source in ("a", "b"):
            typo = source == "b" and i % 4 == 0
            rows.append(
                (
                    f"{source}:{i}",
                    source,
                    g[:-1] + "X" if typo else g,
                    f,
                    dob,
                    f"{1000 + i * 7}",
                    str(i % 50 + 1),
                    f"SSN{i:05d}" if with_identifier else None,
                )
            )
    con.execute(
        "create table records (person_record_id varchar, dataset varchar, given_name varchar, "
        "family_name varchar, date_of_birth date, postal_code varchar, house_number varchar, "
        "identifier_xx_social_security_pseudonym varchar)"
    ).complete()
    con.executemany("insert into records values (?, ?, ?, ?, ?, ?, ?, ?)", rows).complete()
    con.execute("create view unioned as select *, 'xx' as department from records").complete()
    columns = {
        "person_record_id",
        "department",
        "dataset",
        "given_name",
        "family_name",
        "date_of_birth",
        "postal_code",
        "house_number",
        "identifier_xx_social_security_pseudonym",
    }
    linkage.prepare_person_records(con, "unioned", columns)
    return con


def test_training_without_nino_or_nhs_number_uses_the_shared_identifier():
    con = _records(with_identifier=True)
    attributes = linkage.shared_attributes(con)
    assert attributes == {
        "given_name",
        "family_name",
        "date_of_birth",
        "postal_code",
        "house_number",
        "identifier_xx_social_security_pseudonym",
    }
    model = linkage.train_person_model(con, attributes)
    assert 0 < model["probability_two_random_records_match"] < 1
    assert "identifier_xx_social_security_pseudonym" in linkage.model_attributes(model)
    result = linkage.link_persons(con, model, "test-key")
    clusters = con.execute(
        "select count(distinct person_key), max(cluster_size) from person_matches"
    ).fetchall()[0]
    assert result.links >= 55
    assert clusters == (60, 2)


def test_names_dob_and_postal_code_estimate_the_prior_without_an_identifier():
    con = _records(with_identifier=False)
    attributes = linkage.shared_attributes(con)
    assert not any(a.startswith("identifier_") for a in attributes)
    model = linkage.train_person_model(con, attributes)
    assert 0 < model["probability_two_random_records_match"] < 1


def test_no_strong_attribute_raises_an_error_naming_what_is_missing():
    with pytest.raises(linkage.NoMatchEvidenceError, match="missing: date_of_birth, postcode"):
        linkage.prior_rules({"given_name", "family_name", "sex"})
    con = _records(with_identifier=False)
    with pytest.raises(linkage.NoMatchEvidenceError, match="date_of_birth"):
        linkage.train_person_model(con, {"given_name", "family_name", "postal_code"})
