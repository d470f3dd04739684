"""Linkage quality per pair of sources, without ground truth: ``governance/linkage_source_pairs``
and its WARN checks."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance
from orchestration.contracts import load_contracts
from orchestration.defs.governance.keys import governance_asset
from orchestration.defs.linkage.assets import PERSON_MATCHES_KEY, PERSON_RECORDS_KEY
from orchestration.linkage import source_pairs

LINKAGE_SOURCE_PAIRS_KEY = dg.AssetKey(["governance", "linkage_source_pairs"])

MAX_UNCERTAIN_SHARE = 0.05
"""Share of a source pair's records whose best candidate may sit in the uncertain band."""

UNCERTAIN_CHECK = "source_pairs_uncertain_share_at_most_5_percent"
LINK_RATE_CHECK = "sources_link_rate_at_least_expected"

CHECKS = [
    dg.AssetCheckSpec(
        name=UNCERTAIN_CHECK,
        asset=LINKAGE_SOURCE_PAIRS_KEY,
        blocking=False,
        description=(
            "[accuracy · WARN] At most 5% of a source pair's records have their best candidate "
            "in the uncertain band (match probability 0.1 to 0.9); unmeasured while the person "
            "index keeps no scored pairs below the threshold (linkage.person_candidates)."
        ),
        metadata={"gdqf_dimension": "accuracy", "severity": "WARN"},
    ),
    dg.AssetCheckSpec(
        name=LINK_RATE_CHECK,
        asset=LINKAGE_SOURCE_PAIRS_KEY,
        blocking=False,
        description=(
            "[completeness · WARN] The share of a source's records linked to another source is "
            "at least the expectedLinkRate its contract declares (sources that declare none "
            "pass)."
        ),
        metadata={"gdqf_dimension": "completeness", "severity": "WARN"},
    ),
]


def expected_link_rates() -> dict[tuple[str, str], float]:
    """``(department, dataset)`` -> the link rate its contract declares, where one does."""
    rates = {}
    for contract in load_contracts():
        rate = getattr(contract, "expected_link_rate", None)
        if rate is not None:
            rates[(contract.department, contract.dataset)] = float(rate)
    return rates


def source_pair_checks(
    rows: list[source_pairs.SourcePairMetrics],
) -> list[dg.AssetCheckResult]:
    """The WARN check results of one measurement."""
    measured = [r for r in rows if r.uncertain_share is not None]
    uncertain = {
        r.label: round(r.uncertain_share, 4)
        for r in measured
        if r.uncertain_share > MAX_UNCERTAIN_SHARE
    }
    declared = [r for r in rows if r.expected_link_rate is not None and r.link_rate is not None]
    low = {
        r.label: f"{r.link_rate:.3f} < {r.expected_link_rate:.3f}"
        for r in declared
        if r.link_rate < r.expected_link_rate
    }
    return [
        dg.AssetCheckResult(
            check_name=UNCERTAIN_CHECK,
            passed=not uncertain,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                None
                if measured or not rows
                else "Unmeasured: linkage.person_candidates (scored pairs below the threshold) "
                "is missing."
            ),
            metadata={
                "measured": bool(measured),
                "pairs_over_5_percent": dg.MetadataValue.json(uncertain),
            },
        ),
        dg.AssetCheckResult(
            check_name=LINK_RATE_CHECK,
            passed=not low,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "sources_with_expectation": len(declared),
                "below_expected": dg.MetadataValue.json(low),
            },
        ),
    ]


@governance_asset(
    key=LINKAGE_SOURCE_PAIRS_KEY,
    deps=[PERSON_MATCHES_KEY, PERSON_RECORDS_KEY],
    check_specs=CHECKS,
    description=(
        "Person linkage quality that needs no ground truth, per pair of sources (department "
        "and dataset) and per source against all others: link rate, the links' match-weight "
        "deciles, the share of records whose best candidate is uncertain (match probability "
        "0.1 to 0.9) and the model's own estimated precision and recall."
    ),
    metadata=governance.asset_metadata("linkage_source_pairs"),
)
def linkage_source_pairs(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Measures the person index per pair of sources; appends to linkage_source_pairs."""
    rates = expected_link_rates()
    with warehouse.get_connection() as con:
        rows = source_pairs.measure_source_pairs(con, rates)
        governance.ensure(con, "linkage_source_pairs")
        for row in rows:
            values = {"run_id": context.run.run_id, **row.as_row()}
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            con.execute(
                f"insert into governance.linkage_source_pairs ({names}) values ({marks})",
                list(values.values()),
            ).complete()
    rest = [r for r in rows if r.dataset_r == source_pairs.REST]
    return dg.MaterializeResult(
        metadata={
            "source_pairs": len(rows) - len(rest),
            "sources": len(rest),
            "candidates_available": bool(rows and rows[0].candidates_available),
            "link_rate_against_other_sources": dg.MetadataValue.json(
                {r.label: None if r.link_rate is None else round(r.link_rate, 4) for r in rest}
            ),
        },
        check_results=source_pair_checks(rows),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Linkage quality per pair of sources."""
    return dg.Definitions(assets=[linkage_source_pairs])
