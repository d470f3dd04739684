"""Linkage quality as a governance asset: ``governance/linkage_metrics`` and its checks."""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance
from orchestration.defs.governance.keys import LINKAGE_METRICS_KEY, governance_asset
from orchestration.defs.linkage.assets import PERSON_MATCHES_KEY
from orchestration.linkage import metrics as linkage_metrics
from orchestration.settings import get_settings

PERSON_INDEX_KEY = dg.AssetKey(["intermediate", "int_person_matches"])
PROPERTY_INDEX_KEY = dg.AssetKey(["intermediate", "int_property_matches"])

MIN_F1 = 0.95
"""Pairwise F1 the person and property linkage must reach against a ground truth."""

MAX_CLUSTER_SIZE = 50
"""Records one person may hold before the index is suspected of over-linking."""

MAX_SHARE_CONFLICTING_DOB = 0.05
"""Share of person links whose dates of birth may differ (typos, transpositions)."""


def _check(name: str, dimension: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=name,
        asset=LINKAGE_METRICS_KEY,
        description=f"[{dimension} · ERROR, not blocking] {description}",
        blocking=False,
        metadata={"gdqf_dimension": dimension, "severity": "ERROR"},
    )


CHECKS = [
    _check(
        "person_f1_at_least_0_95",
        "accuracy",
        f"Person linkage pairwise F1 against the ground truth is at least {MIN_F1} "
        "(passes unmeasured where there is no ground truth).",
    ),
    _check(
        "property_f1_at_least_0_95",
        "accuracy",
        f"Property linkage pairwise F1 against the ground truth is at least {MIN_F1} "
        "(passes unmeasured where there is no ground truth).",
    ),
    _check(
        "person_largest_cluster_at_most_50",
        "accuracy",
        f"No person holds more than {MAX_CLUSTER_SIZE} records (over-linking).",
    ),
    _check(
        "person_conflicting_dob_share_at_most_5_percent",
        "consistency",
        "At most 5% of the person links kept by the clustering (refused links join nobody) "
        "join two records whose dates of birth are both known and differ.",
    ),
]


@governance_asset(
    key=LINKAGE_METRICS_KEY,
    deps=[PERSON_INDEX_KEY, PROPERTY_INDEX_KEY, PERSON_MATCHES_KEY],
    check_specs=CHECKS,
    description=(
        "Linkage quality per run and entity (person, property): pairwise precision, recall "
        "and F1 and cluster purity against the generator's ground truth where there is one; "
        "always the records, clusters, largest cluster, cluster-size distribution and the "
        "share of person links with conflicting dates of birth."
    ),
    metadata=governance.asset_metadata("linkage_metrics"),
)
def linkage_metrics_asset(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Measures the person and property indexes and appends to governance.linkage_metrics."""
    settings = get_settings()
    with warehouse.get_connection() as con:
        results = {}
        for entity, index, column in (
            ("person", "intermediate.int_person_matches", "person_key"),
            ("property", "intermediate.int_property_matches", "property_key"),
        ):
            truth = linkage_metrics.truth_query(
                con, settings.ground_truth_dir, entity, settings.pseudonym_key
            )
            links = (
                "(select l.date_of_birth as dob_l, r.date_of_birth as dob_r "
                "from linkage.person_links as k "
                "inner join intermediate.int_person_records_unioned as l "
                "on k.person_record_id_l = l.person_record_id "
                "inner join intermediate.int_person_records_unioned as r "
                "on k.person_record_id_r = r.person_record_id "
                # Only the links the clustering kept: a refused link joins nobody.
                "inner join linkage.person_matches as ml "
                "on k.person_record_id_l = ml.person_record_id "
                "inner join linkage.person_matches as mr "
                "on k.person_record_id_r = mr.person_record_id "
                "where ml.person_key = mr.person_key)"
                if entity == "person"
                else None
            )
            results[entity] = linkage_metrics.measure(
                con,
                entity,
                f"(select person_record_id as record_id, {column} as cluster from {index})"
                if entity == "person"
                else f"(select property_record_id as record_id, {column} as cluster from {index})",
                truth,
                links,
            )
        governance.ensure(con, "linkage_metrics")
        for m in results.values():
            con.execute(
                "insert into governance.linkage_metrics (run_id, entity, precision, recall, f1, "
                "purity, clusters, records, truth_records, largest_cluster, size_distribution, "
                "share_conflicting_dob) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    context.run.run_id,
                    m.entity,
                    m.precision,
                    m.recall,
                    m.f1,
                    m.purity,
                    m.clusters,
                    m.records,
                    m.truth_records,
                    m.largest_cluster,
                    json.dumps(m.size_distribution),
                    m.share_conflicting_dob,
                ],
            ).complete()
    person, place = results["person"], results["property"]
    checks = [
        _f1_check("person_f1_at_least_0_95", person),
        _f1_check("property_f1_at_least_0_95", place),
        dg.AssetCheckResult(
            check_name="person_largest_cluster_at_most_50",
            passed=person.largest_cluster <= MAX_CLUSTER_SIZE,
            metadata={"largest_cluster": person.largest_cluster},
        ),
        dg.AssetCheckResult(
            check_name="person_conflicting_dob_share_at_most_5_percent",
            passed=(person.share_conflicting_dob or 0.0) <= MAX_SHARE_CONFLICTING_DOB,
            metadata={"share_conflicting_dob": person.share_conflicting_dob or 0.0},
        ),
    ]
    metadata = {}
    for m in results.values():
        for name in ("precision", "recall", "f1", "purity"):
            if getattr(m, name) is not None:
                metadata[f"{m.entity}_{name}"] = round(getattr(m, name), 4)
        metadata[f"{m.entity}_clusters"] = m.clusters
        metadata[f"{m.entity}_records"] = m.records
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


def _f1_check(name: str, m: linkage_metrics.LinkageMetrics) -> dg.AssetCheckResult:
    if m.f1 is None:
        return dg.AssetCheckResult(
            check_name=name,
            passed=True,
            description="No ground truth (production): F1 not measured.",
            metadata={"measured": False},
        )
    return dg.AssetCheckResult(
        check_name=name,
        passed=m.f1 >= MIN_F1,
        metadata={
            "measured": True,
            "f1": round(m.f1, 4),
            "precision": round(m.precision, 4),
            "recall": round(m.recall, 4),
            "purity": round(m.purity, 4),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The linkage metrics."""
    return dg.Definitions(assets=[linkage_metrics_asset])
