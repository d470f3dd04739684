"""Linkage assets: the trained person model and the person index (its quality is measured
by ``governance/linkage_metrics``).

The person index sits between two dbt selections: it reads
``intermediate/int_person_records_unioned`` and writes ``linkage.person_matches``, the dbt
source that ``intermediate/int_person_matches`` and everything downstream read.
"""

import json

import dagster as dg
import duckdb

from orchestration import governance, incremental, linkage, privacy
from orchestration.contracts import load_contracts
from orchestration.defs.governance.column_lineage import person_index_column_lineage
from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient
from orchestration.linkage import profile
from orchestration.linkage.delta import index_signature
from orchestration.linkage.person import CANDIDATE_FLOOR, PERSON_ATTRIBUTES
from orchestration.settings import get_settings
from orchestration.state import read_json_state, write_atomically

PERSON_RECORDS_KEY = dg.AssetKey(["intermediate", "int_person_records_unioned"])
OPT_OUTS_KEY = dg.AssetKey(["staging", "stg_nhs__data_opt_outs"])
PERSON_MODEL_KEY = dg.AssetKey(["linkage", "person_model"])
PERSON_MATCHES_KEY = dg.AssetKey(["linkage", "person_matches"])

_PAIR_COLUMNS = {
    "person_record_id_l": "First person record of the pair (int_person_records_unioned).",
    "person_record_id_r": "Second person record of the pair.",
    "match_weight": (
        "Overall match weight of the pair: the log2 Bayes factor that the two records are "
        "one person, the sum of the comparisons' weights and the prior."
    ),
    "match_probability": "Probability that the two records are one person (0 to 1).",
}

LINKAGE_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "person_matches": (
        "One row per linked person record: its pseudonymous person key (one per cluster), "
        "whether it was linked to other records, and its cluster's size. Records excluded for "
        "consent (the opt-out list, opted-out patients' health records) are absent.",
        {
            "person_record_id": "The linked person record (int_person_records_unioned).",
            "person_key": (
                "Keyed HMAC of the cluster's anchor (its NINO, else NHS number, else smallest "
                "record id), domain 'person'."
            ),
            "match_rule": "probabilistic (linked to at least one other record) or unlinked.",
            "cluster_size": "Records in the person's cluster.",
        },
    ),
    "person_links": (
        "Every pair of person records scored at or above the match threshold (a link), with "
        "each comparison's match weight, so that every link can be explained.",
        _PAIR_COLUMNS,
    ),
    "person_candidates": (
        "Each person record's best-scoring pair below the match threshold with a match "
        "probability of at least 0.1: the uncertain band that clerical review samples. Same "
        "columns as person_links.",
        _PAIR_COLUMNS,
    ),
    "person_pairs": (
        "Every pair of person records the model scored with a match probability of at least "
        "0.1 (links and candidates alike), kept so that the next run scores only the records "
        "that changed. Same columns as person_links.",
        _PAIR_COLUMNS,
    ),
    "person_key_cache": (
        "The SHA-256 digest of each person's anchor (the identifier its key is made from) "
        "and its person key, kept so that the next run keys again only the persons whose "
        "anchor is new.",
        {
            "digest": "SHA-256 of the anchor (kind and value of the identifier).",
            "person_key": "The person key made from that anchor.",
        },
    ),
    "person_input": (
        "The person records as the linkage compared them (names folded for comparison, "
        "nicknames resolved, consent exclusions left out), kept so that the next run can "
        "tell which records changed. Internal to the linkage: holds direct identifiers.",
        {
            "person_record_id": "The person record (int_person_records_unioned).",
            "given_name": "Given name folded for comparison (upper case, no accents).",
            "given_name_canonical": "First given name, nickname resolved to its formal name.",
            "family_name": "Family name folded for comparison.",
            "date_of_birth": "Date of birth.",
            "date_of_birth_text": "Date of birth as yyyy-mm-dd text (for typo comparisons).",
            "sex": "Sex.",
            "postcode": "UK postcode.",
            "uprn": "UPRN of the record's address.",
            "nino": "National Insurance number.",
            "nhs_number": "NHS number.",
            "upn_pseudonym": "Pseudonym of the unique pupil number.",
            "postal_code": "Postal code (addresses abroad), upper case.",
            "house_number": "House number, upper case.",
            "street": "Street, upper case.",
            "locality": "Locality, upper case.",
            "region": "Region, upper case.",
        },
    ),
}
"""The tables the person index writes in schema ``linkage``: description and column
descriptions (a ``match_weight_<comparison>`` column is described by :func:`linkage_columns`).
``person_matches`` is also the dbt source ``linkage.person_matches``, documented alike."""


def linkage_columns(table: str, columns: list[str]) -> dict[str, str]:
    """The description of each of ``columns`` of linkage table ``table``."""
    described = LINKAGE_TABLES[table][1]
    out = {}
    for column in columns:
        if column in described:
            out[column] = described[column]
        elif column.startswith("identifier_") and column.endswith("_pseudonym"):
            scheme = column.removeprefix("identifier_").removesuffix("_pseudonym")
            out[column] = f"Pseudonym of the record's {scheme} identifier."
        elif column.startswith("match_weight_"):
            comparison = column.removeprefix("match_weight_")
            out[column] = (
                f"Match weight of the {comparison} comparison: log2 Bayes factor of the level "
                "the pair reached, positive where agreement points to one person, negative "
                "where disagreement points to two."
            )
    return out


def describe_linkage_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Comments the linkage tables and their columns in the warehouse."""
    for table, (description, _) in LINKAGE_TABLES.items():
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where database_name = "
                "current_database() and schema_name = 'linkage' and table_name = ?",
                [table],
            ).fetchall()
        ]
        governance.comment_on(con, "linkage", table, description, linkage_columns(table, columns))


def _person_matches_schema() -> dg.TableSchema:
    types = {"cluster_size": "bigint"}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=types.get(name, "varchar"), description=text)
            for name, text in LINKAGE_TABLES["person_matches"][1].items()
        ]
    )


class PersonModelConfig(dg.Config):
    """Whether to retrain the person model or reuse the stored one."""

    retrain: bool = False


def _models_dir():
    return get_settings().data_dir / "linkage" / "models" / "person"


def _read(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _compared(attributes: set[str]) -> set[str]:
    """The comparisons (output columns) a model over ``attributes`` holds."""
    return {
        c.get_comparison("duckdb").output_column_name
        for c in linkage.person_comparisons(attributes)
    }


def _blocking_markdown(counts: list[tuple[str, int]]) -> str:
    lines = ["| blocking rule | pairs added |", "|---|---:|"]
    lines += [f"| `{rule}` | {pairs:,} |" for rule, pairs in counts]
    return "\n".join(lines)


def _weights_markdown(model: dict) -> str:
    lines = ["| comparison | level | match weight |", "|---|---|---:|"]
    lines += [f"| {c} | {label} | {w:+.2f} |" for c, label, w in linkage.match_weights(model)]
    return "\n".join(lines)


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=PERSON_MODEL_KEY,
    deps=[PERSON_RECORDS_KEY, OPT_OUTS_KEY],
    group_name="linkage",
    kinds={"splink", "duckdb"},
    owners=["team:linkage"],
    tags={"layer": "linkage"},
    code_version=linkage.MODEL_SPEC_VERSION,
    description=(
        "The person linkage model (Splink Fellegi-Sunter), built from the person attributes "
        "that two or more record sources hold: given name (typos, nicknames, middle names, "
        "initials, swapped with the family name), family name (double-barrelled), date of "
        "birth (typos, day/month transposed), postcode, postal code, the address parts "
        "compared together as one address, "
        "UPRN, sex, NINO, NHS number and each shared identifier scheme, with m and u trained "
        "by random sampling and expectation maximisation. Stored as a versioned JSON file "
        "under <data dir>/linkage/models/person/ and reused until retrained (run with config "
        "retrain: true, change the model specification version, share another set of "
        "attributes, or let the records shift: their number changes by more than half, or "
        "the share holding a compared attribute by more than 10 points)."
    ),
)
@retry_transient
def person_model(context: dg.AssetExecutionContext, config: PersonModelConfig):
    """Trains the person model, or reuses the newest stored one of this specification when
    it compares the attributes the record sources share today and the records have not
    shifted since it was trained (see :mod:`orchestration.linkage.profile`)."""
    settings = get_settings()
    stored = linkage.latest_model(_models_dir())
    health = privacy.health_datasets(load_contracts())
    reason = "asked to (retrain: true)" if config.retrain else ""
    with linkage.warehouse_session(
        settings.warehouse_path,
        settings.duckdb_memory_limit,
        settings.data_dir / "tmp" / "linkage",
    ) as con:
        # The records' attributes as delivered tell what is shared and how complete it is;
        # preparing them for comparison (names folded, nicknames) is needed only to train.
        records, _ = linkage.prepare_from_warehouse(con, health, source_only=True)
        attributes = linkage.shared_attributes(con)
        wanted = _compared(attributes)
        now = profile.records_profile(con, wanted & set(PERSON_ATTRIBUTES))
        if not reason and stored is None:
            reason = "no stored model"
        elif not reason and linkage.model_attributes(_read(stored)) != wanted:
            reason = "the record sources share other attributes"
        elif not reason:
            reason = profile.shift(profile.load_profile(stored), now) or ""
        if trained := bool(reason):
            linkage.prepare_from_warehouse(con, health)
            model = linkage.train_person_model(con, attributes)
    if trained:
        path = linkage.save_model(model, _models_dir())
        profile.save_profile(path, now)
        context.log.info(
            f"trained the person model on {records:,} records over {', '.join(sorted(wanted))} "
            f"({reason}): {path.name}"
        )
    else:
        path = stored
        model = _read(path)
        context.log.info(f"reusing the stored person model {path.name}")
    return dg.MaterializeResult(
        metadata={
            "model_version": path.stem,
            "trained_this_run": trained,
            "retrained_because": reason or "not retrained",
            "model_path": dg.MetadataValue.path(str(path)),
            "match_weights": dg.MetadataValue.md(_weights_markdown(model)),
        }
    )


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=PERSON_MATCHES_KEY,
    deps=[PERSON_MODEL_KEY, PERSON_RECORDS_KEY, OPT_OUTS_KEY],
    group_name="linkage",
    kinds={"splink", "duckdb"},
    owners=["team:linkage"],
    tags={"layer": "linkage"},
    description=(
        "The person index (linkage.person_matches): every person record of every "
        "department linked to one stable pseudonymous person_key, by the stored person "
        "model; the links above the threshold with each comparison's match weight "
        "(linkage.person_links), so every link can be explained; and each record's best "
        "scored pair below the threshold with a match probability of at least 0.1 "
        "(linkage.person_candidates, same columns), the uncertain band that clerical review "
        "samples. Records that consent "
        "excludes (the national data opt-out list and opted-out patients' health records) "
        "are left out, and their number is recorded in governance.consent_exclusions."
    ),
    metadata={
        "dagster/table_name": "linkage.person_matches",
        "dagster/column_schema": _person_matches_schema(),
    },
)
@retry_transient
def person_matches(context: dg.AssetExecutionContext):
    """Links the person records with the stored model and writes the person index."""
    settings = get_settings()
    path = linkage.latest_model(_models_dir())
    if path is None:
        raise RuntimeError(
            "no stored person model: materialize linkage/person_model before linkage/person_matches"
        )
    model = _read(path)
    health = privacy.health_datasets(load_contracts())
    state = incremental.person_index_path(settings.data_dir)
    signature = index_signature(
        model,
        incremental.key_digest(settings.pseudonym_key),
        linkage.DEFAULT_THRESHOLD,
        CANDIDATE_FLOOR,
    )
    continue_index = read_json_state(state).get("signature") == signature
    with linkage.warehouse_session(
        settings.warehouse_path, settings.duckdb_memory_limit, settings.data_dir / "tmp" / "linkage"
    ) as con:
        # The stored index is only continued from if it was built as this run would build
        # it; its record is removed while the index is rewritten, so a run that dies half
        # way leaves the next one to start afresh.
        state.unlink(missing_ok=True)
        con.execute("use wh").complete()
        governance.ensure(con, "person_key_changes")
        con.execute("use memory").complete()
        run = linkage.run_person_linkage(
            con,
            model,
            settings.pseudonym_key,
            health,
            continue_index=continue_index,
            run_id=context.run.run_id,
        )
        linkage.write_index(con)
        con.execute("checkpoint wh").complete()
        write_atomically(state, json.dumps({"signature": signature, "run_id": context.run.run_id}))
        con.execute("use wh").complete()
        describe_linkage_tables(con)
        privacy.record_exclusions(
            con,
            context.run.run_id,
            "linkage.person_matches",
            run.excluded_records,
            "national data opt-out: the opt-out list and opted-out patients' health records",
        )
    pairs = sum(n for _, n in run.blocking_comparisons)
    context.log.info(
        f"blocking: {pairs:,} pairs to score from {len(run.blocking_comparisons)} rules ("
        + "; ".join(f"{rule}: {n:,}" for rule, n in run.blocking_comparisons)
        + ")"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": run.records,
            "dagster/column_lineage": person_index_column_lineage(),
            "model_version": path.stem,
            "persons": run.clusters,
            "links": run.links,
            "links_refused_conflicting_identifiers": run.refused_links,
            "largest_cluster": run.largest_cluster,
            "records_excluded_for_consent": run.excluded_records,
            "incremental": run.incremental,
            "records_changed": run.changed_records,
            "records_reclustered": run.touched_records,
            "person_key_changes": run.key_changes,
            "seconds": round(run.seconds, 2),
            "score_seconds": round(run.score_seconds, 2),
            "cluster_seconds": round(run.cluster_seconds, 2),
            "blocked_pairs": pairs,
            "blocking_rules": dg.MetadataValue.md(_blocking_markdown(run.blocking_comparisons)),
        }
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The person model and the person index."""
    return dg.Definitions(assets=[person_model, person_matches])
