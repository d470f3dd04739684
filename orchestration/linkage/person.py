"""Probabilistic person linkage with Splink 5 on DuckDB: the person index.

The person records of every department (``intermediate.int_person_records_unioned``, one
row per record with its standard person attributes) are deduplicated with a Fellegi-Sunter
model: names with typos and nicknames, dates of birth with day and month transposed,
postcodes, and the NINO, NHS number and UPRN where a record holds them. The model's
parameters are trained with expectation maximisation and saved as a versioned JSON file;
they are reused until the model is retrained.

Scored pairs above a threshold are clustered greedily, strongest link first, refusing any
link that would put two different NINOs, NHS numbers, pupil numbers or years of birth in one
cluster (one person never holds two; a typo is forgiven on overwhelming evidence besides, see
:mod:`~orchestration.linkage.clustering`). Each record's best pair below the threshold is kept
as a candidate for clerical review. Each cluster gets one stable pseudonymous ``person_key``: the
keyed HMAC of its NINO, else its NHS number, else its smallest record id, so a person keeps
their key from run to run as long as their identifying record does.

Splink works in its own in-memory DuckDB connection that attaches the warehouse: the
warehouse only receives the results (schema ``linkage``) and is detached before dbt runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb

from orchestration.linkage import delta
from orchestration.linkage.clustering import assign_person_keys, cluster_links, record_order
from orchestration.linkage.model import comparison_counts, is_identifier_scheme
from orchestration.linkage.nicknames import NICKNAMES
from orchestration.privacy import excluded_person_records_sql
from orchestration.sql import quote_identifier

logger = logging.getLogger(__name__)

PERSON_ATTRIBUTES: dict[str, str] = {
    "given_name": "varchar",
    "family_name": "varchar",
    "date_of_birth": "date",
    "sex": "varchar",
    "postcode": "varchar",
    "uprn": "bigint",
    "nino": "varchar",
    "nhs_number": "varchar",
    "upn_pseudonym": "varchar",
    "postal_code": "varchar",
    "house_number": "varchar",
    "street": "varchar",
    "locality": "varchar",
    "region": "varchar",
}
"""Standard person attributes the model can use, with their types. A record source that
lacks one (a column missing from the unioned records) contributes nulls. Besides these, every
``identifier_<scheme>_pseudonym`` column of the unioned records is carried as it is."""

EXACT_COUNT_RECORDS = 20_000
"""Up to this many records the pairs of each blocking rule are counted exactly; above, they
are estimated from a sample of this many records on each side of the blocking join, which
keeps counting under a few percent of the linkage's time (an exact count costs about a third
of it at 100,000 citizens; a 10% sample is within 1% of it)."""

MIN_SOURCES = 2
"""Record sources (datasets) that must hold an attribute for the model to compare it: an
attribute only one source holds cannot link that source to another."""

DEFAULT_THRESHOLD = 0.9
"""Match probability at or above which a scored pair is a link."""

CANDIDATE_FLOOR = 0.1
"""Match probability from which a scored pair below the threshold is a candidate: each
record's best candidate is kept in ``person_candidates``, the uncertain band that clerical
review samples and the per-source-pair quality measures."""


@dataclass
class LinkageRun:
    """What one linkage run produced.

    Attributes:
        records: Person records linked.
        excluded_records: Records left out for consent (opt-out list, opted-out patients).
        links: Scored pairs at or above the threshold.
        clusters: Persons (clusters) in the index.
        largest_cluster: Records in the largest cluster.
        refused_links: Links refused because they would join two different identifiers.
        seconds: Wall time of the run.
        score_seconds: Of which blocking and scoring the pairs.
        cluster_seconds: Of which the constrained clustering.
        blocking_comparisons: Each blocking rule of the model and the pairs it adds to the
            rules before it (estimated from a sample above :data:`EXACT_COUNT_RECORDS`).
    """

    records: int
    excluded_records: int
    links: int
    clusters: int
    largest_cluster: int
    refused_links: int
    seconds: float
    score_seconds: float = 0.0
    cluster_seconds: float = 0.0
    blocking_comparisons: list[tuple[str, int]] = field(default_factory=list)
    incremental: bool = False
    changed_records: int = -1
    touched_records: int = -1
    key_changes: int = 0


@dataclass
class LinkResult:
    """What scoring, clustering and keying the prepared records produced.

    Attributes:
        links: Scored pairs at or above the threshold.
        refused_links: Links refused because they would join two different identifiers.
        score_seconds: Time Splink took to block and score the pairs.
        cluster_seconds: Time the constrained clustering took.
        key_seconds: Time giving each cluster its person key took.
        changed_records: Records new or changed since the stored index (-1: a full run).
        gone_records: Stored records gone or changed (-1: a full run).
        touched_records: Records of the components re-clustered (-1: a full run).
    """

    links: int
    refused_links: int
    score_seconds: float
    cluster_seconds: float
    key_seconds: float
    changed_records: int = -1
    gone_records: int = -1
    touched_records: int = -1


def _name_key(column: str) -> str:
    """SQL of a name as the model compares it: upper case without diacritics (``ß`` as
    ``SS``), hyphens and runs of spaces as one space, apostrophes and full stops dropped;
    null when nothing is left."""
    folded = f"upper(strip_accents(replace(replace({column}, 'ß', 'ss'), 'ẞ', 'SS')))"
    dropped = f"regexp_replace({folded}, '[''.]', '', 'g')"
    return f"nullif(trim(regexp_replace({dropped}, '[\\s-]+', ' ', 'g')), '')"


def prepare_person_records(
    con: duckdb.DuckDBPyConnection,
    source: str,
    source_columns: set[str],
    excluded_where: str = "false",
    source_only: bool = False,
) -> tuple[int, int]:
    """Creates the table ``person_input`` that the model reads, from the unioned records.

    Args:
        con: The linkage connection (the warehouse attached as ``wh``).
        source: Qualified name of the unioned person records.
        source_columns: Columns the unioned records hold; missing attributes become null.
        excluded_where: SQL condition on alias ``r`` selecting records left out for consent.
        source_only: Stop at ``person_source`` (every record's attributes as delivered,
            with its origin and whether consent excludes it): enough to tell which
            attributes are shared and how complete they are.

    Returns:
        ``(records, excluded)``: records prepared and records left out.
    """
    con.execute("create or replace table nicknames (nickname varchar, formal varchar)").complete()
    con.executemany("insert into nicknames values (?, ?)", list(NICKNAMES.items())).complete()
    schemes = sorted(c for c in source_columns if is_identifier_scheme(c))
    attributes = ",\n".join(
        [
            f"r.{name}" if name in source_columns else f"cast(null as {kind}) as {name}"
            for name, kind in PERSON_ATTRIBUTES.items()
        ]
        + [f"r.{quote_identifier(c)}" for c in schemes]
    )
    origin = (
        "r.department || ':' || r.dataset"
        if {"department", "dataset"} <= source_columns
        else "'records'"
    )
    con.execute(
        f"""
        create or replace table person_source as
        select
            r.person_record_id,
            {origin} as _origin,
            {attributes},
            coalesce({excluded_where}, false) as _excluded
        from {source} as r
        """
    ).complete()
    if source_only:
        return con.execute(
            "select count(*) filter (not _excluded), count(*) filter (_excluded) from person_source"
        ).fetchall()[0]
    carried = "".join(f",\n            s.{quote_identifier(c)}" for c in schemes)
    con.execute(
        f"""
        create or replace table person_names as
        select
            person_record_id,
            {_name_key("given_name")} as given_name,
            {_name_key("family_name")} as family_name
        from person_source
        where not _excluded
        """
    ).complete()
    con.execute(
        f"""
        create or replace table person_input as
        select
            s.person_record_id,
            m.given_name,
            coalesce(n.formal, split_part(m.given_name, ' ', 1)) as given_name_canonical,
            m.family_name,
            s.date_of_birth,
            strftime(s.date_of_birth, '%Y-%m-%d') as date_of_birth_text,
            s.sex,
            s.postcode,
            s.uprn,
            s.nino,
            s.nhs_number,
            s.upn_pseudonym,
            upper(trim(s.postal_code)) as postal_code,
            upper(trim(s.house_number)) as house_number,
            upper(trim(s.street)) as street,
            upper(trim(s.locality)) as locality,
            upper(trim(s.region)) as region{carried}
        from person_source as s
        inner join person_names as m on s.person_record_id = m.person_record_id
        left join nicknames as n on split_part(m.given_name, ' ', 1) = n.nickname
        where not s._excluded
        """
    ).complete()
    con.execute("drop table person_names").complete()
    records, excluded = con.execute(
        "select count(*) filter (not _excluded), count(*) filter (_excluded) from person_source"
    ).fetchall()[0]
    return records, excluded


def shared_attributes(con: duckdb.DuckDBPyConnection, min_sources: int = MIN_SOURCES) -> set[str]:
    """The person attributes that at least ``min_sources`` record sources (datasets) hold,
    counted on the prepared records before consent exclusions (``person_source``): the
    attributes the model compares and blocks on.
    """
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_name = 'person_source' and table_schema = current_schema() "
            "order by ordinal_position"
        ).fetchall()
        if c in PERSON_ATTRIBUTES or is_identifier_scheme(c)
    ]
    counts = ", ".join(
        f"count(distinct _origin) filter ({quote_identifier(c)} is not null)" for c in columns
    )
    held = con.execute(f"select {counts} from person_source").fetchall()[0]
    return {c for c, n in zip(columns, held, strict=True) if n >= min_sources}


def link_persons(
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    key: str,
    threshold: float = DEFAULT_THRESHOLD,
    incremental: bool = False,
) -> LinkResult:
    """Scores, links and clusters ``person_input`` into the person index.

    Creates ``person_pairs`` (every pair scored down to :data:`CANDIDATE_FLOOR`),
    ``person_links`` (every pair at or above the threshold, with the match weight of each
    comparison, so each link can be explained), ``person_candidates`` (each record's
    best-scoring pair below the threshold with a match probability of at least
    :data:`CANDIDATE_FLOOR`, same columns) and ``person_matches``
    (``person_record_id, person_key, match_rule, cluster_size``).

    Args:
        con: The linkage connection holding ``person_input``.
        model: A trained model (Splink settings dictionary).
        key: The pseudonymisation key for ``person_key``.
        threshold: Match probability at or above which a pair is a link.
        incremental: Continue from the index stored in the warehouse (``wh.linkage``),
            built with the same model, key and threshold: score only the changed records
            and re-cluster only the components they touch. The result is the same.

    Returns:
        The links kept and refused, and the time each step took.
    """
    started = time.perf_counter()
    # One prediction down to the candidates' floor, split into links and candidates.
    changed, gone = delta.score_pairs(con, model, min(CANDIDATE_FLOOR, threshold), incremental)
    con.execute(
        "create or replace table person_links as "
        "select * from person_pairs where match_probability >= ?",
        [threshold],
    ).complete()
    # A record's best candidate among equal weights is the other record first in a
    # key-independent order: record ids are pseudonyms for some datasets.
    con.execute(
        f"""
        create or replace temp table person_order as
        select person_record_id, {record_order(con)} as record_order from person_input
        """
    ).complete()
    con.execute(
        """
        create or replace table person_candidates as
        with below as (
            select * from person_pairs where match_probability < $threshold
        ),
        ends as (
            select person_record_id_l as record_id, person_record_id_r as other_id,
                person_record_id_l, person_record_id_r, match_weight
            from below
            union all
            select person_record_id_r, person_record_id_l, person_record_id_l,
                person_record_id_r, match_weight
            from below
        ),
        best as (
            select distinct e.person_record_id_l, e.person_record_id_r
            from ends as e
            inner join person_order as o on e.other_id = o.person_record_id
            qualify row_number() over (
                partition by e.record_id
                order by e.match_weight desc, o.record_order, e.other_id
            ) = 1
        )
        select b.*
        from below as b
        semi join best using (person_record_id_l, person_record_id_r)
        """,
        {"threshold": threshold},
    ).complete()
    con.execute("drop table person_order").complete()
    scored = time.perf_counter()
    touched = -1
    if incremental:
        touched = delta.touched_records(con)
        refused = delta.cluster_touched(con, threshold)
    else:
        refused = cluster_links(con, threshold)
    clustered = time.perf_counter()
    assign_person_keys(con, key, cached=incremental)
    links = con.execute("select count(*) from person_links").fetchall()[0][0]
    return LinkResult(
        links=links,
        refused_links=refused,
        score_seconds=scored - started,
        cluster_seconds=clustered - scored,
        key_seconds=time.perf_counter() - clustered,
        changed_records=changed,
        gone_records=gone,
        touched_records=touched,
    )


def prepare_from_warehouse(
    con: duckdb.DuckDBPyConnection, health: list[tuple[str, str]], source_only: bool = False
) -> tuple[int, int]:
    """Prepares ``person_input`` from the warehouse's unioned person records, minus the
    records that consent excludes (see :mod:`orchestration.privacy`).

    Returns:
        ``(records, excluded)``.
    """
    columns = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'wh' "
            "and table_schema = 'intermediate' and table_name = 'int_person_records_unioned'"
        ).fetchall()
    }
    if not columns:
        raise RuntimeError(
            "intermediate.int_person_records_unioned is missing from the warehouse: "
            "materialize the dbt models upstream of the linkage first"
        )
    has_opt_outs = con.execute(
        "select count(*) from information_schema.tables where table_catalog = 'wh' "
        "and table_schema = 'staging' and table_name = 'stg_nhs__data_opt_outs'"
    ).fetchall()[0][0]
    excluded = excluded_person_records_sql(
        health if has_opt_outs else [], "wh.staging.stg_nhs__data_opt_outs"
    )
    return prepare_person_records(
        con, "wh.intermediate.int_person_records_unioned", columns, excluded, source_only
    )


def write_index(con: duckdb.DuckDBPyConnection) -> None:
    """Writes ``person_matches``, ``person_links`` and ``person_candidates`` to the
    warehouse's ``linkage`` schema, with what the next run continues from: the prepared
    records (``person_input``) and every scored pair (``person_pairs``)."""
    con.execute(
        """
        create schema if not exists wh.linkage;
        create or replace table wh.linkage.person_matches as select * from person_matches;
        create or replace table wh.linkage.person_links as select * from person_links;
        create or replace table wh.linkage.person_candidates as
        select * from person_candidates;
        create or replace table wh.linkage.person_input as select * from person_input;
        create or replace table wh.linkage.person_pairs as select * from person_pairs;
        create or replace table wh.linkage.person_key_cache as select * from person_key_cache;
        """
    ).complete()


def run_person_linkage(
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    key: str,
    health: list[tuple[str, str]],
    threshold: float = DEFAULT_THRESHOLD,
    continue_index: bool = False,
    run_id: str = "",
) -> LinkageRun:
    """Prepares, links and clusters the warehouse's person records (not yet written back).

    Args:
        con: A :func:`warehouse_session` connection.
        model: A trained model.
        key: The pseudonymisation key.
        health: ``(department, dataset)`` of the health datasets (for consent).
        threshold: Match probability at or above which a pair is a link.
        continue_index: The index stored in the warehouse was built with this model, key
            and threshold: continue from it (incremental) when it holds what that needs.
        run_id: The run, recorded with each person key that changed.
    """
    started = time.perf_counter()
    records, excluded = prepare_from_warehouse(con, health)
    sample = min(1.0, EXACT_COUNT_RECORDS / max(records, 1))
    counts = comparison_counts(con, model, sample)
    for rule, pairs in counts:
        logger.info("blocking rule %s: %s pairs", rule, f"{pairs:,}")
    incremental = continue_index and delta.can_continue(con)
    result = link_persons(con, model, key, threshold, incremental=incremental)
    changes = 0
    if delta.has_index(con):
        changes = delta.record_key_changes(con, run_id)
    clusters, largest = con.execute(
        "select count(distinct person_key), coalesce(max(cluster_size), 0) from person_matches"
    ).fetchall()[0]
    return LinkageRun(
        records=records,
        excluded_records=excluded,
        links=result.links,
        clusters=clusters,
        largest_cluster=largest,
        refused_links=result.refused_links,
        seconds=time.perf_counter() - started,
        score_seconds=result.score_seconds,
        cluster_seconds=result.cluster_seconds,
        blocking_comparisons=counts,
        incremental=incremental,
        changed_records=result.changed_records,
        touched_records=result.touched_records,
        key_changes=changes,
    )
