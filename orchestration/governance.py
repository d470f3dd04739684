"""Every ``governance.*`` table, defined once: its columns, their meaning and how it is kept.

The governance schema is the platform's record of itself: what was delivered and loaded,
which contracts are in force, how good the data is, how well records link, what consent
left out, what was shared and what was published. Modules that write a governance table
create it with :func:`ensure` (append-only history) or :func:`recreate` (a current view
rebuilt each run); none writes its own DDL. Both leave every table and column commented with
its description (:func:`describe`), so whoever queries the warehouse can read what it holds.

Longer than 500 lines because it is the one definition of every governance table, each with
its columns' descriptions, and those belong in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from orchestration.sql import quote_identifier, quote_literal

if TYPE_CHECKING:
    import dagster as dg

SCHEMA = "governance"


@dataclass(frozen=True)
class GovernanceColumn:
    """One column of a governance table.

    Attributes:
        name: Column name.
        type: DuckDB type, with any constraint or default (``varchar not null``).
        description: What the column holds.
    """

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class GovernanceTable:
    """A governance table.

    Attributes:
        name: Table name within the ``governance`` schema.
        description: What one row is and who writes it.
        columns: The columns, in order.
        history: True for an append-only history (created once, never replaced); False for
            a current view rebuilt by each run.
    """

    name: str
    description: str
    columns: tuple[GovernanceColumn, ...]
    history: bool

    @property
    def qualified_name(self) -> str:
        """``governance.<name>``."""
        return f"{SCHEMA}.{self.name}"

    def ddl(self, replace: bool = False, catalog: str | None = None) -> str:
        """``CREATE TABLE`` for the table: ``OR REPLACE`` with ``replace``, else ``IF NOT
        EXISTS``; in the attached database ``catalog`` when given."""
        columns = ",\n    ".join(f"{c.name} {c.type}" for c in self.columns)
        verb = "create or replace table" if replace else "create table if not exists"
        where = f"{catalog}.{self.qualified_name}" if catalog else self.qualified_name
        return f"{verb} {where} (\n    {columns}\n)"


def _c(name: str, type_: str, description: str) -> GovernanceColumn:
    return GovernanceColumn(name, type_, description)


TABLES: dict[str, GovernanceTable] = {
    t.name: t
    for t in (
        GovernanceTable(
            "ingestion_log",
            "One row per landing file seen by an ingest run: loaded, duplicate or rejected, "
            "with the rule broken and the row counts (rows_in = rows_loaded + rows_quarantined).",
            (
                _c("file_path", "varchar not null", "File path relative to the landing zone."),
                _c("file_sha256", "varchar not null", "SHA-256 of the file's bytes."),
                _c("department", "varchar not null", "Delivering department."),
                _c("dataset", "varchar not null", "Dataset (contract) the file belongs to."),
                _c("status", "varchar not null", "loaded, duplicate or rejected."),
                _c("rows_in", "bigint", "Data rows in the file, counted from its bytes."),
                _c("rows_loaded", "bigint", "Rows loaded into the raw table."),
                _c("rows_quarantined", "bigint", "Rows sent to quarantine."),
                _c("run_id", "varchar not null", "Dagster run that took the file in."),
                _c("loaded_at", "timestamp not null", "When the file was taken in."),
                _c("message", "varchar", "Why a file was rejected or a duplicate."),
                _c("reason", "varchar", "Code of the rule a rejected file broke."),
                _c(
                    "values_nulled",
                    "json",
                    "Per column with onInvalid: null, the values of the file that broke the "
                    "column's rules and were nulled in staging instead of quarantined, as "
                    "JSON {column: count}; null when the contract has no such column.",
                ),
            ),
            history=True,
        ),
        GovernanceTable(
            "contracts",
            "The registry of data contracts in force: one row per contract.",
            (
                _c("contract_id", "varchar primary key", "The contract's ODCS id."),
                _c("version", "varchar not null", "Contract version."),
                _c("status", "varchar not null", "ODCS status (active, draft, ...)."),
                _c("owner", "varchar not null", "Data owner (e-mail)."),
                _c("team", "varchar not null", "Owning team."),
                _c("department", "varchar not null", "Delivering department."),
                _c("dataset", "varchar not null", "Dataset name."),
                _c("raw_table", "varchar not null", "Raw table the deliveries load into."),
                _c("classification", "varchar not null", "Highest classification of a column."),
                _c("format", "varchar not null", "Delivery file format."),
                _c("columns", "integer not null", "Number of columns."),
                _c("quality_rules", "integer not null", "Number of quality rules."),
                _c("legal_basis", "varchar not null", "Legal basis for the processing."),
                _c("purpose", "varchar not null", "Purpose of the processing."),
                _c("contract_path", "varchar not null", "The contract's file."),
                _c("contract_sha256", "varchar not null", "SHA-256 of the contract's file."),
            ),
            history=False,
        ),
        GovernanceTable(
            "quality_results",
            "Append-only history of every quality check's result, per run and dataset.",
            (
                _c("run_id", "varchar not null", "Dagster run that validated."),
                _c("validated_at", "timestamp not null", "When the check ran."),
                _c("dataset", "varchar not null", "Dataset (asset) checked."),
                _c("check_name", "varchar not null", "Check name, unique for the dataset."),
                _c("dimension", "varchar not null", "GDQF dimension."),
                _c("severity", "varchar not null", "ERROR (blocking) or WARN (recorded)."),
                _c("success", "boolean not null", "Whether the check passed."),
                _c("element_count", "bigint", "Rows judged."),
                _c("unexpected_count", "bigint", "Rows that broke the expectation."),
                _c("unexpected_percent", "double", "Their percentage of element_count."),
                _c("observed_value", "varchar", "What was observed, as text."),
                _c("error", "varchar", "Internal error of the check, if any (a failed check)."),
            ),
            history=True,
        ),
        GovernanceTable(
            "quality_scorecard",
            "The latest GDQF scorecard: one row per dataset and dimension, score against target.",
            (
                _c("dataset", "varchar not null", "Dataset (asset)."),
                _c("dimension", "varchar not null", "GDQF dimension."),
                _c("checks", "integer not null", "Checks in this dimension."),
                _c("checks_passed", "integer not null", "Checks that passed."),
                _c("checks_errored", "integer not null", "Checks that failed with an error."),
                _c("score", "double", "Mean share of data meeting the checks, percent."),
                _c("target", "double", "Target score, percent (null: every check must pass)."),
                _c("met", "boolean not null", "Whether the target is met."),
                _c("run_id", "varchar not null", "Run of the latest results."),
                _c("validated_at", "timestamp not null", "When those results were made."),
            ),
            history=False,
        ),
        GovernanceTable(
            "quality_declarations",
            "A plain-English quality declaration per published dataset.",
            (
                _c("dataset", "varchar not null", "Published dataset."),
                _c("blocking_checks_passed", "boolean not null", "Every ERROR check passed."),
                _c("declaration", "varchar not null", "The declaration, as Markdown."),
                _c("generated_at", "timestamp not null", "When it was written."),
            ),
            history=False,
        ),
        GovernanceTable(
            "linkage_metrics",
            "Linkage quality per run and entity: pairwise precision, recall and F1 against "
            "ground truth where there is one, and cluster statistics that need none.",
            (
                _c("run_id", "varchar", "Dagster run that measured."),
                _c("entity", "varchar", "person or property."),
                _c("precision", "double", "Pairwise precision against ground truth."),
                _c("recall", "double", "Pairwise recall against ground truth."),
                _c("f1", "double", "Pairwise F1 against ground truth."),
                _c("purity", "double", "Share of records in a cluster of their true entity."),
                _c("clusters", "bigint", "Entities (clusters) found."),
                _c("records", "bigint", "Records clustered."),
                _c("truth_records", "bigint", "Records in the ground truth."),
                _c("largest_cluster", "bigint", "Records in the largest cluster."),
                _c("size_distribution", "varchar", "Clusters per size band, as JSON."),
                _c(
                    "share_conflicting_dob", "double", "Share of links whose dates of birth differ."
                ),
                _c("measured_at", "timestamp default current_timestamp", "When measured."),
                _c(
                    "reviewed_pairs",
                    "bigint",
                    "Pairs a clerical review decided match or non-match (review rows only).",
                ),
                _c(
                    "reviewed_precision",
                    "double",
                    "Share of those decided pairs that the reviewers decided match.",
                ),
            ),
            history=True,
        ),
        GovernanceTable(
            "linkage_source_pairs",
            "Person linkage quality that needs no ground truth, per run and pair of sources "
            "(department and dataset, both orders collapsed, a source with itself for its "
            "duplicates) and per source against every other source (department_r and "
            "dataset_r '*'). Written by governance/linkage_source_pairs.",
            (
                _c("run_id", "varchar", "Dagster run that measured."),
                _c("department_l", "varchar", "Department of the first source."),
                _c("dataset_l", "varchar", "Dataset of the first source."),
                _c("department_r", "varchar", "Department of the second source ('*': all others)."),
                _c("dataset_r", "varchar", "Dataset of the second source ('*': all others)."),
                _c("records_l", "bigint", "Records of the first source in the person index."),
                _c("records_r", "bigint", "Records of the second side in the person index."),
                _c(
                    "linked_records",
                    "bigint",
                    "Records of the smaller side sharing a person with the other side (the "
                    "first source's for a source with itself or with all others).",
                ),
                _c("link_rate", "double", "linked_records over the records of that side."),
                _c("links", "bigint", "Accepted links between the two sides."),
                _c(
                    "match_weight_deciles",
                    "varchar",
                    "Minimum, deciles (p10..p90) and maximum of the links' match weights, as JSON.",
                ),
                _c(
                    "uncertain_records",
                    "bigint",
                    "Records whose best candidate on the other side has a match probability "
                    "from 0.1 to below 0.9.",
                ),
                _c(
                    "uncertain_share",
                    "double",
                    "uncertain_records over the records of both sides (null when no scored "
                    "pairs below the threshold were kept).",
                ),
                _c("expected_true_links", "double", "Sum of the links' match probabilities."),
                _c(
                    "estimated_precision",
                    "double",
                    "The model's own precision estimate: mean match probability of the links.",
                ),
                _c(
                    "estimated_recall",
                    "double",
                    "The model's own recall estimate: the links' probabilities over every "
                    "scored pair's at or above 0.1 (null without pairs below the threshold).",
                ),
                _c(
                    "candidates_available",
                    "boolean",
                    "Whether scored pairs below the threshold (linkage.person_candidates) "
                    "were available.",
                ),
                _c(
                    "expected_link_rate",
                    "double",
                    "Link rate the source's contract expects (customProperties.expectedLinkRate"
                    "), on rows against all other sources.",
                ),
                _c("measured_at", "timestamp default current_timestamp", "When measured."),
            ),
            history=True,
        ),
        GovernanceTable(
            "consent_exclusions",
            "How many records consent (the national data opt-out) left out of each output, "
            "per run.",
            (
                _c("run_id", "varchar", "Dagster run."),
                _c("output", "varchar", "Output the records were left out of."),
                _c("excluded_records", "bigint", "Records left out."),
                _c("reason", "varchar", "Why (which opt-out)."),
                _c("recorded_at", "timestamp default current_timestamp", "When recorded."),
            ),
            history=True,
        ),
        GovernanceTable(
            "person_key_changes",
            "Every person key that person records held and no longer hold after a linkage "
            "run, with the key they hold now and why: merge (records of two or more persons "
            "are now one person), split (one person's records are now two or more persons), "
            "re-keyed (the same records keyed anew because the person's anchor identifier "
            "changed) or removed (the record left the index: corrected away or excluded for "
            "consent). One row per old key, new key and reason, per run.",
            (
                _c("run_id", "varchar", "Dagster run of the linkage."),
                _c("changed_at", "timestamp with time zone", "When the change was recorded."),
                _c("old_person_key", "varchar", "Person key the records held before."),
                _c("new_person_key", "varchar", "Person key they hold now (null: removed)."),
                _c("reason", "varchar", "merge, split, re-keyed or removed."),
                _c("records", "bigint", "Person records that moved from the old to the new key."),
            ),
            history=True,
        ),
        GovernanceTable(
            "sharing_log",
            "Every extract written under a sharing agreement: one row per dataset extracted.",
            (
                _c("extract_id", "varchar", "The extract."),
                _c("agreement_id", "varchar", "Sharing agreement it was made under."),
                _c("consumer", "varchar", "Who receives it."),
                _c("purpose", "varchar", "Purpose stated in the agreement."),
                _c("legal_basis", "varchar", "Legal basis stated in the agreement."),
                _c("expires", "date", "When the agreement expires."),
                _c("dataset", "varchar", "Dataset extracted."),
                _c("columns", "varchar", "Columns extracted (the permitted ones)."),
                _c("rows", "bigint", "Rows extracted."),
                _c("path", "varchar", "Where the extract was written."),
                _c("extracted_at", "timestamp default current_timestamp", "When written."),
            ),
            history=True,
        ),
        GovernanceTable(
            "alerts",
            "Every alert the platform raised: a failed run, a failed blocking (ERROR) check or "
            "a delivery late against its contract's SLA, one row per alert (the same failure "
            "seen twice is one alert), with whether the alert webhook received it. Written by "
            "the alert sensors and governance/alerts.",
            (
                _c(
                    "alert_id",
                    "varchar primary key",
                    "Deterministic id: SHA-256 of the kind, the subject and the run id (for a "
                    "late delivery, the UTC date instead, so a late dataset alerts once a day).",
                ),
                _c("raised_at", "timestamptz not null", "When the alert was raised."),
                _c(
                    "kind",
                    "varchar not null",
                    "run_failure, blocking_check_failed or late_delivery.",
                ),
                _c(
                    "severity",
                    "varchar not null",
                    "ERROR (a run failed or something downstream was blocked) or WARN.",
                ),
                _c(
                    "subject",
                    "varchar not null",
                    "What the alert is about: the failed job, the check ('asset :: check') or "
                    "the late dataset (asset key).",
                ),
                _c("run_id", "varchar", "Dagster run in which the failure was seen."),
                _c("message", "varchar", "What happened, as sent to the webhook."),
                _c(
                    "webhook_status",
                    "varchar not null",
                    "'not configured' (no COMMONGROUND_ALERT_WEBHOOK_URL), 'delivered (HTTP "
                    "<status>)' or 'failed: <reason>'; never the webhook URL, which is secret.",
                ),
                _c("recorded_at", "timestamptz not null", "When the row was written."),
            ),
            history=True,
        ),
        GovernanceTable(
            "publication",
            "In the published snapshot only: which run published it, when, and how many tables.",
            (
                _c("run_id", "varchar", "Run that published the snapshot."),
                _c("published_at", "timestamp", "When it was published."),
                _c("tables", "bigint", "Tables in the snapshot."),
            ),
            history=False,
        ),
        GovernanceTable(
            "catalogue",
            "One entry per table of the published snapshot in the UK Cross-Government Metadata "
            "Exchange Model (a DCAT 3 Dataset), from its contracts, its dbt documentation and "
            "the quality scorecard. Rebuilt by governance/catalogue, with <data dir>/catalogue/.",
            (
                _c("identifier", "varchar primary key", "urn:<tenant>:dataset:<schema>.<table>."),
                _c("title", "varchar not null", "The dataset's title."),
                _c("dataset", "varchar not null", "The published table, as schema.table."),
                _c("entry", "json not null", "The entry (Dataset and Distributions) as JSON."),
                _c("modified", "date not null", "Date of the publication that holds the table."),
                _c("run_id", "varchar not null", "Dagster run that wrote the entry."),
                _c("recorded_at", "timestamp not null", "When the entry was written."),
            ),
            history=False,
        ),
        GovernanceTable(
            "data_maturity",
            "Evidence-based data maturity per department and assessment: the level whose "
            "criteria, and all lower levels', it meets (orchestration/catalogue/maturity.py), "
            "judged from what the platform holds. Appended by governance/data_maturity.",
            (
                _c("department", "varchar not null", "The department (its contracts' folder)."),
                _c("level", "integer not null", "1 (Beginning) to 5 (Mastering)."),
                _c("criteria_met", "integer not null", "Criteria that apply and are met."),
                _c("criteria_total", "integer not null", "Criteria that apply to it."),
                _c(
                    "evidence",
                    "json not null",
                    "Each criterion: level, applies, met, why and the figures behind it; and "
                    "what the next level needs.",
                ),
                _c("assessed_at", "timestamp not null", "When the evidence was read (UTC)."),
                _c("run_id", "varchar not null", "Dagster run that assessed."),
            ),
            history=True,
        ),
        GovernanceTable(
            "column_lineage",
            "Column-level lineage: one row per column of a dataset (a raw table, a dbt model, "
            "the person index) and one column it is made from, with how. A column made of "
            "constants only has one row without upstream. Rebuilt by governance/column_lineage "
            "each run.",
            (
                _c(
                    "asset",
                    "varchar not null",
                    "Asset key of the dataset, '/'-joined (staging/stg_dwp__benefit_awards).",
                ),
                _c("dataset", "varchar not null", "The dataset: schema.table in the warehouse."),
                _c("column_name", "varchar not null", "The column."),
                _c(
                    "upstream_asset",
                    "varchar",
                    "Asset key the column is made from: landing/<department>/<dataset> (the "
                    "delivered files) for a raw table; null for a constant (or a table no "
                    "asset writes).",
                ),
                _c(
                    "upstream_dataset",
                    "varchar",
                    "Where that is: schema.table, or the landing folder "
                    "landing/<department>/<dataset>; null for a constant.",
                ),
                _c(
                    "upstream_column",
                    "varchar",
                    "The upstream column (the delivered header, for a raw table); null for a "
                    "constant, a count of the upstream's rows or a delivery's provenance "
                    "(source file, row number, batch, load time).",
                ),
                _c(
                    "kind",
                    "varchar not null",
                    "direct (copied, renamed or cast), derived (an expression of it), "
                    "aggregated (inside an aggregate) or masked (through a pseudonym or hash); "
                    "the strongest along the way, masked first.",
                ),
                _c("run_id", "varchar not null", "Dagster run that recorded the lineage."),
                _c("recorded_at", "timestamp not null", "When it was recorded (UTC)."),
            ),
            history=False,
        ),
    )
}


def table(name: str) -> GovernanceTable:
    """The governance table called ``name``.

    Raises:
        KeyError: No such governance table.
    """
    return TABLES[name]


def comment_on(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    description: str,
    columns: Mapping[str, str],
    catalog: str | None = None,
) -> None:
    """Sets the comment of table ``schema.table`` and of each of its columns named in
    ``columns`` (column name -> description); columns the table lacks are skipped, and an
    empty description leaves a comment unset.

    Args:
        con: Connection to the database holding the table (or attaching ``catalog``).
        schema: Schema of the table.
        table: Table name.
        description: The table's comment.
        columns: Each column's comment.
        catalog: Attached database the table is in (default: the current one).
    """
    relation = ".".join(quote_identifier(p) for p in (catalog, schema, table) if p)
    present = {
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = "
            "coalesce(?, current_database()) and schema_name = ? and table_name = ?",
            [catalog, schema, table],
        ).fetchall()
    }
    if description:
        con.execute(f"comment on table {relation} is {quote_literal(description)}")
    for column, text in columns.items():
        if column in present and text:
            con.execute(
                f"comment on column {relation}.{quote_identifier(column)} is {quote_literal(text)}"
            )


def describe(con: duckdb.DuckDBPyConnection, name: str, catalog: str | None = None) -> None:
    """Comments governance table ``name`` and its columns with their descriptions."""
    definition = TABLES[name]
    comment_on(
        con,
        SCHEMA,
        name,
        definition.description,
        {c.name: c.description for c in definition.columns},
        catalog,
    )


def column_schema(name: str) -> dg.TableSchema:
    """Governance table ``name`` as a Dagster column schema: each column's name, type,
    nullability, uniqueness and description (``dagster/column_schema`` metadata)."""
    import dagster as dg  # deferred: only Dagster wiring needs it, and it is slow to import

    columns = []
    for column in TABLES[name].columns:
        kind = column.type.lower()
        key = "primary key" in kind
        columns.append(
            dg.TableColumn(
                name=column.name,
                type=base_type(column.type),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=not (key or "not null" in kind), unique=key
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def asset_metadata(name: str) -> dict[str, object]:
    """Dagster metadata of the asset that writes governance table ``name``: its column schema
    (:func:`column_schema`) and table name."""
    return {
        "dagster/column_schema": column_schema(name),
        "dagster/table_name": table(name).qualified_name,
    }


def base_type(declared: str) -> str:
    """The DuckDB type of a declared column type, without its constraint or default."""
    kind = declared.lower()
    for marker in (" not null", " primary key", " default"):
        kind = kind.split(marker)[0]
    return kind.strip()


def ensure(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Creates the governance schema and table ``name`` if missing (keeps its rows), and
    comments it with its descriptions."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(TABLES[name].ddl())
    describe(con, name)


def add_missing_columns(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Adds the columns of history table ``name`` that an older warehouse's copy lacks."""
    for column in TABLES[name].columns:
        kind = column.type.split(" not null")[0].split(" primary key")[0]
        con.execute(
            f"alter table {TABLES[name].qualified_name} add column if not exists "
            f"{column.name} {kind}"
        )
    describe(con, name)


def recreate(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Creates the governance schema and replaces table ``name`` with an empty one, commented
    with its descriptions."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(TABLES[name].ddl(replace=True))
    describe(con, name)
