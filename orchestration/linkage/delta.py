"""Incremental person linkage: score only what changed, re-cluster only what it touches.

The person index keeps, besides its results, what the next run needs to continue from it
(schema ``linkage`` of the warehouse): the prepared records it linked (``person_input``)
and every pair it scored down to the candidates' floor (``person_pairs``). A later run with
the same model, key and threshold (the *signature*, see :func:`index_signature`):

1. compares the records prepared now with those: a record is *changed* when it is new or
   any attribute differs, *gone* when it is no longer there (corrected away, or now
   excluded for consent);
2. keeps the stored pairs between records that did not change, and scores the changed
   records against the others (Splink's ``predict_between``) and among themselves
   (``predict_within``). The model uses no term-frequency adjustments and every blocking
   rule and comparison is a function of the two records alone, so these are exactly the
   pairs and weights a full prediction would give;
3. re-clusters only the connected components of the links that hold a changed record or
   lost a link: the constrained clustering decides each component on its own, so every
   other component's clusters are the stored ones;
4. keys every cluster as a full run does (a person's key is a function of its cluster),
   and records in ``governance.person_key_changes`` every record whose person key changed
   (merge, split, or a new anchor identifier).

So an incremental run gives the same index as a full one, row for row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import duckdb
import numpy as np

from orchestration.linkage.clustering import cluster_links, components
from orchestration.linkage.model import linker as model_linker

logger = logging.getLogger(__name__)

INDEX_FORMAT = "person-index-v1"
"""Version of what the index stores; a change makes the next run a full one."""

PAIR_ORDER = "least(person_record_id_l, person_record_id_r)"


def index_signature(model: dict[str, Any], key_digest: str, threshold: float, floor: float) -> str:
    """What an index must have been built with for a run to continue from it."""
    text = json.dumps([INDEX_FORMAT, model, key_digest, threshold, floor], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = 'wh' "
            "and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    described = con.execute(f"select * from {qualified} limit 0")
    names = [d[0] for d in described.description]
    described.fetchall()
    return names


def has_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds a person index from an earlier run."""
    return _exists(con, "linkage", "person_matches")


def can_continue(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds a stored index the prepared records can continue from:
    its tables exist and its records have the columns prepared now."""
    needed = ("person_input", "person_pairs", "person_matches", "person_links")
    if not all(_exists(con, "linkage", t) for t in needed):
        return False
    return _columns(con, "wh.linkage.person_input") == _columns(con, "person_input")


def find_changes(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Creates ``person_changed`` (records new or different since the stored index) and
    ``person_gone`` (records whose stored pairs no longer hold: changed or gone).

    Returns:
        ``(changed, gone)``: records changed, and stored records gone or changed.
    """
    con.execute(
        """
        create or replace temp table person_changed as
        select person_record_id from (
            select * from person_input
            except
            select * from wh.linkage.person_input
        );
        create or replace temp table person_gone as
        select person_record_id from wh.linkage.person_input
        anti join person_input using (person_record_id)
        union all
        select person_record_id from person_changed;
        """
    ).complete()
    changed = con.execute("select count(*) from person_changed").fetchall()[0][0]
    gone = con.execute("select count(*) from person_gone").fetchall()[0][0]
    return changed, gone


def score_changes(con: duckdb.DuckDBPyConnection, model: dict[str, Any], floor: float) -> str:
    """Scores the changed records against the others and among themselves.

    Returns:
        The name of a table of the new pairs, with the columns of a full prediction.
    """
    from splink import DuckDBAPI, Linker  # deferred: Splink is slow to import; only linkage

    con.execute(
        """
        create or replace table person_delta as
        select * from person_input semi join person_changed using (person_record_id);
        create or replace table person_stable as
        select * from person_input anti join person_changed using (person_record_id);
        """
    ).complete()
    api = DuckDBAPI(connection=con)
    linker = Linker(api.register("person_input"), model, log_level=logging.WARNING)
    delta = api.register("person_delta")
    stable = api.register("person_stable")
    between = linker.inference.predict_between(
        delta, stable, threshold_match_probability=floor, warning_mode="never"
    )
    within = linker.inference.predict_within(
        delta, threshold_match_probability=floor, warning_mode="never"
    )
    columns = [c for c in _columns(con, between.physical_name) if c != "match_key"]
    selected = ", ".join(columns)
    con.execute(
        f"""
        create or replace table person_new_pairs as
        select {selected} from {between.physical_name}
        union all
        select {selected} from {within.physical_name}
        """
    ).complete()
    for table in (between, within):
        table.drop_table_from_database_and_remove_from_cache()
    con.execute("drop table person_delta; drop table person_stable").complete()
    return "person_new_pairs"


def kept_pairs_sql() -> str:
    """SQL of the stored pairs between records that did not change."""
    return """
        select * from wh.linkage.person_pairs as p
        anti join person_gone as l on p.person_record_id_l = l.person_record_id
        anti join person_gone as r on p.person_record_id_r = r.person_record_id
    """


def _node_ids(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        create or replace temp table person_ids as
        select person_record_id, row_number() over (order by person_record_id) - 1 as id
        from person_input
        """
    ).complete()


def touched_records(con: duckdb.DuckDBPyConnection) -> int:
    """Creates ``person_touched``: the records of every connected component of the links
    (``person_links``) that holds a changed record or an end of a link that is gone.

    Returns:
        Records touched.
    """
    _node_ids(con)
    edges = con.execute(
        """
        select l.id as l, r.id as r
        from person_links as k
        inner join person_ids as l on k.person_record_id_l = l.person_record_id
        inner join person_ids as r on k.person_record_id_r = r.person_record_id
        """
    ).fetchnumpy()
    count = con.execute("select count(*) from person_ids").fetchall()[0][0]
    labels = components(
        count, np.asarray(edges["l"], dtype=np.int64), np.asarray(edges["r"], dtype=np.int64)
    )
    # The changed records, and both ends of every stored link that lost an end.
    seeds = con.execute(
        """
        with lost as (
            select k.person_record_id_l, k.person_record_id_r
            from wh.linkage.person_links as k
            where k.person_record_id_l in (select person_record_id from person_gone)
            or k.person_record_id_r in (select person_record_id from person_gone)
        ),
        seeds as (
            select person_record_id from person_changed
            union
            select person_record_id_l from lost
            union
            select person_record_id_r from lost
        )
        select i.id from person_ids as i semi join seeds using (person_record_id)
        """
    ).fetchnumpy()["id"]
    touched = np.isin(labels, np.unique(labels[np.asarray(seeds, dtype=np.int64)]))
    con.register("_touched", {"id": np.flatnonzero(touched).astype(np.int64)})
    con.execute(
        """
        create or replace temp table person_touched as
        select i.person_record_id from person_ids as i semi join _touched as t on i.id = t.id
        """
    ).complete()
    con.unregister("_touched")
    return int(touched.sum())


def cluster_touched(con: duckdb.DuckDBPyConnection, threshold: float) -> int:
    """Re-clusters the touched records and keeps the stored clusters of the others.

    Creates ``person_clusters`` (``person_record_id``, ``cluster``) over every record of
    ``person_input``: touched records by the constrained clustering of their components,
    the others by their stored person key (one per stored cluster).

    Returns:
        Links refused by the exclusive attributes in the touched components.
    """
    con.execute(
        """
        alter table person_input rename to person_input_all;
        alter table person_links rename to person_links_all;
        create table person_input as
        select * from person_input_all semi join person_touched using (person_record_id);
        create table person_links as
        select * from person_links_all as k
        where k.person_record_id_l in (select person_record_id from person_touched);
        """
    ).complete()
    try:
        refused = cluster_links(con, threshold)
    finally:
        con.execute(
            """
            drop table person_input; drop table person_links;
            alter table person_input_all rename to person_input;
            alter table person_links_all rename to person_links;
            """
        ).complete()
    con.execute(
        """
        create or replace table person_clusters as
        select person_record_id, 'new:' || cluster as cluster from person_clusters
        union all
        select m.person_record_id, 'kept:' || m.person_key
        from wh.linkage.person_matches as m
        semi join person_input as i using (person_record_id)
        anti join person_touched as t using (person_record_id)
        """
    ).complete()
    return refused


def record_key_changes(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Appends to ``wh.governance.person_key_changes`` (which must exist) every person key
    that records held in the stored index and no longer hold, with the key they hold now
    and why.

    Reasons: ``merge`` (records of two or more persons are now one person), ``split``
    (one person's records are now two or more persons), ``re-keyed`` (the same records,
    keyed anew because the person's anchor identifier changed), ``removed`` (the record is
    no longer in the index: corrected away or excluded for consent).

    Returns:
        Rows appended.
    """
    con.execute(
        """
        create or replace temp table person_moves as
        select o.person_key as old_key, n.person_key as new_key
        from wh.linkage.person_matches as o
        left join person_matches as n using (person_record_id)
        where n.person_key is distinct from o.person_key;
        """
    ).complete()
    before = con.execute("select count(*) from wh.governance.person_key_changes").fetchall()[0][0]
    con.execute(
        """
        insert into wh.governance.person_key_changes
        with olds as (
            select o.person_key as old_key, count(distinct n.person_key) as parts
            from wh.linkage.person_matches as o
            inner join person_matches as n using (person_record_id)
            group by o.person_key
        ),
        news as (
            select n.person_key as new_key, count(distinct o.person_key) as sources
            from person_matches as n
            inner join wh.linkage.person_matches as o using (person_record_id)
            group by n.person_key
        )
        select
            $run_id,
            now(),
            m.old_key,
            m.new_key,
            case
                when m.new_key is null then 'removed'
                when s.sources > 1 then 'merge'
                when o.parts > 1 then 'split'
                else 're-keyed'
            end,
            count(*)
        from person_moves as m
        left join olds as o on m.old_key = o.old_key
        left join news as s on m.new_key = s.new_key
        group by all
        order by all
        """,
        {"run_id": run_id},
    ).complete()
    after = con.execute("select count(*) from wh.governance.person_key_changes").fetchall()[0][0]
    return after - before


def _scored(con: duckdb.DuckDBPyConnection, predictions: str) -> str:
    """SQL selecting Splink predictions as stored pairs: each pair's ids in order (the lower
    first, as a dedupe orients them), its weight and probability, and each comparison's
    weight as ``match_weight_<comparison>``."""
    described = con.execute(f"select * from {predictions} limit 0")
    weights = [d[0] for d in described.description if d[0].startswith("mw_")]
    described.fetchall()
    columns = "".join(f", p.{c} as match_weight_{c[3:]}" for c in weights)
    return f"""
        select
            least(p.person_record_id_l, p.person_record_id_r) as person_record_id_l,
            greatest(p.person_record_id_l, p.person_record_id_r) as person_record_id_r,
            p.match_weight,
            p.match_probability{columns}
        from {predictions} as p
    """


def score_pairs(
    con: duckdb.DuckDBPyConnection, model: dict[str, Any], floor: float, incremental: bool
) -> tuple[int, int]:
    """Creates ``person_pairs``: every pair of ``person_input`` scored at or above ``floor``.

    A full run scores every blocked pair. An incremental run keeps the stored pairs of
    records that did not change and scores only the changed records, against the others
    and among themselves (see the module's description).

    Returns:
        ``(changed, gone)`` records (both ``-1`` for a full run).
    """
    if incremental:
        changed, gone = find_changes(con)
        fresh = score_changes(con, model, floor)
        con.execute(
            f"""
            create or replace table person_pairs as
            {kept_pairs_sql()}
            union all by name
            {_scored(con, fresh)}
            """
        ).complete()
        con.execute(f"drop table {fresh}").complete()
        return changed, gone
    predictions = model_linker(con, model).inference.predict(
        threshold_match_probability=floor, warning_mode="never"
    )
    con.execute(
        f"create or replace table person_pairs as {_scored(con, predictions.physical_name)}"
    ).complete()
    predictions.drop_table_from_database_and_remove_from_cache()
    return -1, -1
