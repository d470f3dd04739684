"""Linkage assets: the trained person model, the person index, and linkage quality.

The person index sits between two dbt selections: it reads
``intermediate/int_person_records_unioned`` and writes ``linkage.person_matches``, the dbt
source that ``intermediate/int_person_matches`` and everything downstream read.
"""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.lib import linkage, linkage_metrics, privacy
from orchestration.lib.contracts import load_contracts
from orchestration.settings import get_settings

PERSON_RECORDS_KEY = dg.AssetKey(["intermediate", "int_person_records_unioned"])
OPT_OUTS_KEY = dg.AssetKey(["staging", "stg_nhs__data_opt_outs"])
PERSON_MODEL_KEY = dg.AssetKey(["linkage", "person_model"])
PERSON_MATCHES_KEY = dg.AssetKey(["linkage", "person_matches"])
LINKAGE_METRICS_KEY = dg.AssetKey(["governance", "linkage_metrics"])
PERSON_INDEX_KEY = dg.AssetKey(["intermediate", "int_person_matches"])
PROPERTY_INDEX_KEY = dg.AssetKey(["intermediate", "int_property_matches"])

MIN_F1 = 0.95
"""Pairwise F1 the person and property linkage must reach against a ground truth."""

MAX_CLUSTER_SIZE = 50
"""Records one person may hold before the index is suspected of over-linking."""

MAX_SHARE_CONFLICTING_DOB = 0.05
"""Share of person links whose dates of birth may differ (typos, transpositions)."""

LINKAGE_METRICS_DDL = """
create schema if not exists governance;
create table if not exists governance.linkage_metrics (
    run_id varchar,
    entity varchar,
    precision double,
    recall double,
    f1 double,
    purity double,
    clusters bigint,
    records bigint,
    truth_records bigint,
    largest_cluster bigint,
    size_distribution varchar,
    share_conflicting_dob double,
    measured_at timestamp default current_timestamp
);
"""


class PersonModelConfig(dg.Config):
    """Whether to retrain the person model or reuse the stored one."""

    retrain: bool = False


def _models_dir():
    return get_settings().data_dir / "linkage" / "models" / "person"


def _weights_markdown(model: dict) -> str:
    lines = ["| comparison | level | match weight |", "|---|---|---:|"]
    lines += [f"| {c} | {label} | {w:+.2f} |" for c, label, w in linkage.match_weights(model)]
    return "\n".join(lines)


@dg.asset(
    key=PERSON_MODEL_KEY,
    deps=[PERSON_RECORDS_KEY, OPT_OUTS_KEY],
    group_name="linkage",
    kinds={"splink", "duckdb"},
    owners=["team:linkage"],
    tags={"layer": "linkage"},
    code_version=linkage.MODEL_SPEC_VERSION,
    description=(
        "The person linkage model (Splink Fellegi-Sunter): comparisons of given name "
        "(typos, nicknames), family name, date of birth (typos, day/month transposed), "
        "postcode, UPRN, sex, NINO and NHS number, with m and u trained by random sampling "
        "and expectation maximisation. Stored as a versioned JSON file under "
        "<data dir>/linkage/models/person/ and reused until retrained (run with config "
        "retrain: true, or change the model specification version)."
    ),
)
def person_model(context: dg.AssetExecutionContext, config: PersonModelConfig):
    """Trains the person model, or reuses the newest stored one of this specification."""
    settings = get_settings()
    stored = linkage.latest_model(_models_dir())
    trained = config.retrain or stored is None
    if trained:
        health = privacy.health_datasets(load_contracts())
        with linkage.warehouse_session(
            settings.warehouse_path,
            settings.duckdb_memory_limit,
            settings.data_dir / "tmp" / "linkage",
        ) as con:
            records, _ = linkage.prepare_from_warehouse(con, health)
            model = linkage.train_person_model(con)
        path = linkage.save_model(model, _models_dir())
        context.log.info(f"trained the person model on {records:,} records: {path.name}")
    else:
        path = stored
        model = json.loads(path.read_text(encoding="utf-8"))
        context.log.info(f"reusing the stored person model {path.name}")
    return dg.MaterializeResult(
        metadata={
            "model_version": path.stem,
            "trained_this_run": trained,
            "model_path": dg.MetadataValue.path(str(path)),
            "match_weights": dg.MetadataValue.md(_weights_markdown(model)),
        }
    )


@dg.asset(
    key=PERSON_MATCHES_KEY,
    deps=[PERSON_MODEL_KEY, PERSON_RECORDS_KEY, OPT_OUTS_KEY],
    group_name="linkage",
    kinds={"splink", "duckdb"},
    owners=["team:linkage"],
    tags={"layer": "linkage"},
    description=(
        "The person index (linkage.person_matches): every person record of every "
        "department linked to one stable pseudonymous person_key, by the stored person "
        "model; and the links above the threshold with each comparison's match weight "
        "(linkage.person_links), so every link can be explained. Records that consent "
        "excludes (the national data opt-out list and opted-out patients' health records) "
        "are left out, and their number is recorded in governance.consent_exclusions."
    ),
    metadata={"dagster/table_name": "linkage.person_matches"},
)
def person_matches(context: dg.AssetExecutionContext):
    """Links the person records with the stored model and writes the person index."""
    settings = get_settings()
    path = linkage.latest_model(_models_dir())
    if path is None:
        raise RuntimeError(
            "no stored person model: materialize linkage/person_model before linkage/person_matches"
        )
    model = json.loads(path.read_text(encoding="utf-8"))
    health = privacy.health_datasets(load_contracts())
    with linkage.warehouse_session(
        settings.warehouse_path, settings.duckdb_memory_limit, settings.data_dir / "tmp" / "linkage"
    ) as con:
        run = linkage.run_person_linkage(con, model, settings.pseudonym_key, health)
        linkage.write_index(con)
        con.execute("use wh").complete()
        privacy.record_exclusions(
            con,
            context.run.run_id,
            "linkage.person_matches",
            run.excluded_records,
            "national data opt-out: the opt-out list and opted-out patients' health records",
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": run.records,
            "model_version": path.stem,
            "persons": run.clusters,
            "links": run.links,
            "links_refused_conflicting_identifiers": run.refused_links,
            "largest_cluster": run.largest_cluster,
            "records_excluded_for_consent": run.excluded_records,
            "seconds": round(run.seconds, 2),
            "score_seconds": round(run.score_seconds, 2),
            "cluster_seconds": round(run.cluster_seconds, 2),
        }
    )


def _check(name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=name, asset=LINKAGE_METRICS_KEY, description=description, blocking=False
    )


CHECKS = [
    _check(
        "person_f1_at_least_0_95",
        f"Person linkage pairwise F1 against the ground truth is at least {MIN_F1} "
        "(passes unmeasured where there is no ground truth).",
    ),
    _check(
        "property_f1_at_least_0_95",
        f"Property linkage pairwise F1 against the ground truth is at least {MIN_F1} "
        "(passes unmeasured where there is no ground truth).",
    ),
    _check(
        "person_largest_cluster_at_most_50",
        f"No person holds more than {MAX_CLUSTER_SIZE} records (over-linking).",
    ),
    _check(
        "person_conflicting_dob_share_at_most_5_percent",
        "At most 5% of person links join records with different dates of birth.",
    ),
]


@dg.asset(
    key=LINKAGE_METRICS_KEY,
    deps=[PERSON_INDEX_KEY, PROPERTY_INDEX_KEY, PERSON_MATCHES_KEY],
    group_name="governance",
    kinds={"duckdb"},
    owners=["team:data-governance"],
    tags={"layer": "governance"},
    check_specs=CHECKS,
    description=(
        "Linkage quality per run and entity (person, property): pairwise precision, recall "
        "and F1 and cluster purity against the generator's ground truth where there is one; "
        "always the records, clusters, largest cluster, cluster-size distribution and the "
        "share of person links with conflicting dates of birth."
    ),
    metadata={"dagster/table_name": "governance.linkage_metrics"},
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
                "on k.person_record_id_r = r.person_record_id)"
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
        con.execute(LINKAGE_METRICS_DDL).complete()
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
    """The person model, the person index and the linkage metrics."""
    return dg.Definitions(assets=[person_model, person_matches, linkage_metrics_asset])
