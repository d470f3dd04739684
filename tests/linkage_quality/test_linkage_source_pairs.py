"""Linkage quality per pair of sources, on the hand-made index (see conftest)."""

from __future__ import annotations

from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.governance import linkage_source_pairs as wiring
from orchestration.linkage.source_pairs import REST, measure_source_pairs

DWP = ("dwp", "benefit_awards")
HMRC = ("hmrc", "paye_income")


def _by_pair(rows):
    return {((r.department_l, r.dataset_l), (r.department_r, r.dataset_r)): r for r in rows}


def test_pair_metrics_match_the_hand_counted_numbers(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        rows = _by_pair(measure_source_pairs(con, {HMRC: 0.5}))
    assert set(rows) == {(DWP, DWP), (DWP, HMRC), (HMRC, HMRC), (DWP, (REST, REST)),
                         (HMRC, (REST, REST))}  # fmt: skip
    both = rows[(DWP, HMRC)]
    assert (both.records_l, both.records_r, both.linked_records, both.links) == (4, 6, 2, 2)
    assert both.link_rate == 0.5  # A1 and A2 of the smaller source, DWP
    assert both.expected_true_links == pytest.approx(1.969)
    assert both.estimated_precision == pytest.approx(0.9845)
    assert both.estimated_recall == pytest.approx(1.969 / 2.469)
    # B3's best DWP candidate is uncertain; A1's best HMRC candidate is its link to B1.
    assert (both.uncertain_records, both.uncertain_share) == (1, pytest.approx(0.1))
    assert both.match_weight_deciles == {
        "min": 5.0, "p10": 5.5, "p20": 6.0, "p30": 6.5, "p40": 7.0, "p50": 7.5,
        "p60": 8.0, "p70": 8.5, "p80": 9.0, "p90": 9.5, "max": 10.0,
    }  # fmt: skip
    assert both.candidates_available and both.expected_link_rate is None

    dwp = rows[(DWP, DWP)]
    assert (dwp.linked_records, dwp.link_rate, dwp.links, dwp.uncertain_share) == (2, 0.5, 1, 0)
    assert dwp.estimated_recall == pytest.approx(1.0)
    hmrc = rows[(HMRC, HMRC)]
    assert (hmrc.link_rate, hmrc.links, hmrc.match_weight_deciles) == (0.0, 0, {})
    assert hmrc.estimated_precision is None and hmrc.estimated_recall is None

    hmrc_rest = rows[(HMRC, (REST, REST))]
    assert (hmrc_rest.records_l, hmrc_rest.records_r, hmrc_rest.linked_records) == (6, 4, 2)
    assert hmrc_rest.link_rate == pytest.approx(2 / 6)
    assert hmrc_rest.uncertain_share == pytest.approx(1 / 6)
    assert hmrc_rest.expected_link_rate == 0.5
    dwp_rest = rows[(DWP, (REST, REST))]
    assert (dwp_rest.link_rate, dwp_rest.uncertain_share, dwp_rest.links) == (0.5, 0.0, 2)


def test_without_scored_pairs_below_the_threshold_the_band_is_unmeasured(
    warehouse_without_candidates,
):
    with duckdb.connect(str(warehouse_without_candidates)) as con:
        rows = _by_pair(measure_source_pairs(con))
    both = rows[(DWP, HMRC)]
    assert not both.candidates_available
    assert both.uncertain_share is None and both.estimated_recall is None
    assert both.link_rate == 0.5 and both.estimated_precision == pytest.approx(0.9845)


def _materialize(warehouse, monkeypatch, rates):
    contracts = [
        SimpleNamespace(department=d, dataset=s, expected_link_rate=rates.get((d, s)))
        for d, s in (DWP, HMRC)
    ]
    monkeypatch.setattr(wiring, "load_contracts", lambda: contracts)
    result = dg.materialize(
        [wiring.linkage_source_pairs],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
    )
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_the_warn_check_fires_when_a_source_links_below_its_expected_rate(warehouse, monkeypatch):
    checks = _materialize(warehouse, monkeypatch, {HMRC: 0.5, DWP: 0.5})
    rate = checks[wiring.LINK_RATE_CHECK]
    assert not rate.passed and rate.severity == dg.AssetCheckSeverity.WARN
    assert list(rate.metadata["below_expected"].value) == ["hmrc:paye_income ~ *"]
    uncertain = checks[wiring.UNCERTAIN_CHECK]
    assert not uncertain.passed and uncertain.severity == dg.AssetCheckSeverity.WARN
    assert set(uncertain.metadata["pairs_over_5_percent"].value) == {
        "dwp:benefit_awards ~ hmrc:paye_income",
        "hmrc:paye_income ~ *",
    }
    with duckdb.connect(str(warehouse)) as con:
        stored = con.execute(
            "select count(*), count(distinct run_id), max(expected_link_rate) "
            "from governance.linkage_source_pairs"
        ).fetchall()[0]
    assert stored == (5, 1, 0.5)


def test_the_link_rate_check_passes_when_the_rate_is_met_or_undeclared(
    warehouse_without_candidates, monkeypatch
):
    checks = _materialize(warehouse_without_candidates, monkeypatch, {DWP: 0.5})
    assert checks[wiring.LINK_RATE_CHECK].passed
    unmeasured = checks[wiring.UNCERTAIN_CHECK]
    assert unmeasured.passed and unmeasured.metadata["measured"].value is False
