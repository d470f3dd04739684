"""Quality in the code location: checks per expectation, blocking ERRORs, governance lineage."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.definitions import defs as load_defs

pytestmark = pytest.mark.xdist_group("dbt_project")


@pytest.fixture(scope="module")
def graph():
    return load_defs().resolve_asset_graph()


def _check(graph, asset: str, name: str):
    return graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(asset.split("/")), name))


def test_each_expectation_is_a_check_blocking_when_error(graph):
    valid = _check(graph, "raw/nhs__gp_registrations", "nhs_number_valid")
    assert valid.blocking and valid.metadata["dimension"] == "validity"
    duplicates = _check(graph, "raw/dluhc__energy_certificates", "lmk_key_unique")
    assert not duplicates.blocking and duplicates.metadata["severity"] == "WARN"
    plausible = _check(graph, "conformed/person_records", "birth_year_plausible")
    assert plausible.blocking and plausible.metadata["dimension"] == "validity"
    consistency = _check(graph, "conformed/person_records", "birth_year_agrees_across_records")
    assert not consistency.blocking and consistency.metadata["dimension"] == "consistency"
    fresh = _check(graph, "raw/hmrc__paye_income", "delivered_within_sla")
    assert not fresh.blocking and fresh.metadata["dimension"] == "timeliness"


def test_governance_and_publishing_sit_downstream_of_what_they_describe(graph):
    def parents(key: str) -> set[str]:
        node = graph.get(dg.AssetKey(key.split("/")))
        return {k.to_user_string() for k in node.parent_keys}

    assert {"raw/nhs__gp_registrations", "conformed/person_records"} <= parents(
        "governance/quality_results"
    )
    assert "governance/quality_results" in parents("governance/quality_scorecard")
    declared = parents("governance/quality_declarations")
    assert {"governance/quality_scorecard", "marts/benefit_income_overlaps"} <= declared
    published = parents("published/analytics")
    assert {
        "conformed/persons",
        "marts/fuel_poverty_risk_by_local_authority_published",
    } <= published
    # The unsuppressed internal mart (meta.publish false) never reaches analysts.
    assert "marts/fuel_poverty_risk_by_local_authority" not in published
    assert {"governance/quality_scorecard", "governance/quality_declarations"} <= published
    assert not {p for p in published if p.split("/")[0] in {"raw", "staging", "intermediate"}}
