"""Linkage quality that needs no ground truth, per pair of record sources.

A source is one delivered dataset (``department:dataset``) of the person index. For every
pair of sources (both orders collapsed, a source with itself for its duplicates) and for
every source against the rest of the index (the other side ``*``), this measures:

- the link rate: the share of the smaller source's records that share a ``person_key`` with
  at least one record of the other side;
- the distribution of the match weights of the links between the two;
- the share of records whose best scored candidate on the other side sits in the uncertain
  band (match probability 0.1 to 0.9);
- the model's own estimate of its precision and recall, read from the match probabilities.

The index (``linkage.person_links``) keeps only the links at or above the threshold. Scored
pairs below it are read from ``linkage.person_candidates`` when the person index writes that
table (same columns as the links: ``person_record_id_l``, ``person_record_id_r``,
``match_weight``, ``match_probability`` and any ``match_weight_<comparison>``, holding at
least each record's best candidate below the threshold). Without it, the uncertain share and
the estimated recall are not measured (null) rather than reported as perfect.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import duckdb

RECORDS = "intermediate.int_person_records_unioned"
"""The unioned person records (``person_record_id``, ``department``, ``dataset``, ...)."""

MATCHES = "linkage.person_matches"
"""The person index: ``person_record_id`` and its ``person_key``."""

LINKS = "linkage.person_links"
"""The accepted links (match probability at or above the threshold)."""

CANDIDATES = "linkage.person_candidates"
"""Scored pairs below the threshold, written by the person index when it keeps them."""

UNCERTAIN_BAND = (0.1, 0.9)
"""Match probabilities of an uncertain pair: at least the first, below the second."""

REST = "*"
"""Department and dataset of the other side of a source measured against every other source."""

DECILES = tuple(round(q / 10, 1) for q in range(1, 10))


@dataclass
class SourcePairMetrics:
    """Linkage quality between two sources (or a source and the rest of the index).

    Attributes:
        department_l: Department of the first source.
        dataset_l: Dataset of the first source.
        department_r: Department of the second source (``*``: every other source).
        dataset_r: Dataset of the second source (``*``: every other source).
        records_l: Records of the first source in the index.
        records_r: Records of the second side in the index.
        linked_records: Records of the smaller side sharing a person with the other side (of
            the first source for a source with itself or with the rest of the index).
        link_rate: ``linked_records`` over the records of that side (None without records).
        links: Accepted links between the two sides.
        match_weight_deciles: Minimum, deciles and maximum of the links' match weights
            (``{"min": .., "p10": .., .., "p90": .., "max": ..}``; empty without links).
        uncertain_records: Records whose best candidate on the other side is uncertain.
        uncertain_share: ``uncertain_records`` over the records of both sides (None when no
            scored pairs below the threshold are available).
        expected_true_links: Sum of the accepted links' match probabilities.
        estimated_precision: Mean match probability of the accepted links (None without).
        estimated_recall: Sum of the accepted links' probabilities over the sum of every
            scored pair's at or above 0.1 (None without scored pairs below the threshold).
        candidates_available: Whether scored pairs below the threshold were available.
        expected_link_rate: The link rate the source's contract expects (rest-of-index rows).
    """

    department_l: str
    dataset_l: str
    department_r: str
    dataset_r: str
    records_l: int
    records_r: int
    linked_records: int
    link_rate: float | None
    links: int
    match_weight_deciles: dict[str, float]
    uncertain_records: int
    uncertain_share: float | None
    expected_true_links: float
    estimated_precision: float | None
    estimated_recall: float | None
    candidates_available: bool
    expected_link_rate: float | None = None

    @property
    def label(self) -> str:
        """``department:dataset ~ department:dataset`` (``*`` for the rest of the index)."""
        right = REST if self.dataset_r == REST else f"{self.department_r}:{self.dataset_r}"
        return f"{self.department_l}:{self.dataset_l} ~ {right}"

    def as_row(self) -> dict:
        """The metrics as one row of ``governance.linkage_source_pairs`` (JSON as text)."""
        row = asdict(self)
        row["match_weight_deciles"] = json.dumps(self.match_weight_deciles)
        return row


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.table`` exists in the connection's current database."""
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ? and table_catalog = current_database()",
            [schema, name],
        ).fetchall()[0][0]
    )


def scored_pairs_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, bool]:
    """A query of every scored pair at or above 0.1 with an ``accepted`` flag, and whether
    pairs below the threshold (``linkage.person_candidates``) were available.

    A pair both linked and listed as a candidate counts once, as accepted.
    """
    if not table_exists(con, CANDIDATES):
        return (
            f"(select person_record_id_l, person_record_id_r, match_weight, match_probability, "
            f"true as accepted from {LINKS})",
            False,
        )
    return (
        f"""(
        select * exclude (_rank) from (
            select *, row_number() over (
                partition by least(person_record_id_l, person_record_id_r),
                    greatest(person_record_id_l, person_record_id_r)
                order by accepted desc, match_probability desc
            ) as _rank
            from (
                select person_record_id_l, person_record_id_r, match_weight, match_probability,
                    true as accepted
                from {LINKS}
                union all
                select person_record_id_l, person_record_id_r, match_weight, match_probability,
                    false as accepted
                from {CANDIDATES}
                where match_probability >= {UNCERTAIN_BAND[0]}
            )
        ) where _rank = 1
        )""",
        True,
    )


def _prepare(con: duckdb.DuckDBPyConnection) -> bool:
    """Temp tables ``_sp_records`` (record, source, key), ``_sp_keys`` (records per key and
    source) and ``_sp_scored`` (scored pairs with both sources)."""
    con.execute(
        f"""
        create or replace temp table _sp_records as
        select m.person_record_id as record_id, r.department, r.dataset,
            r.department || ':' || r.dataset as source, m.person_key
        from {MATCHES} as m inner join {RECORDS} as r using (person_record_id)
        """
    ).complete()
    con.execute(
        "create or replace temp table _sp_keys as select person_key, source, count(*) as n "
        "from _sp_records group by all"
    ).complete()
    scored, candidates = scored_pairs_sql(con)
    con.execute(
        f"""
        create or replace temp table _sp_scored as
        select s.person_record_id_l as record_l, s.person_record_id_r as record_r,
            l.source as source_l, r.source as source_r,
            s.match_weight, s.match_probability, s.accepted
        from {scored} as s
        inner join _sp_records as l on s.person_record_id_l = l.record_id
        inner join _sp_records as r on s.person_record_id_r = r.record_id
        """
    ).complete()
    return candidates


def _directed(con: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[str, str], tuple]:
    return {(row[0], row[1]): row[2:] for row in con.execute(sql).fetchall()}


def _link_aggregates(con: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    """Accepted links, their probabilities' sum and mean, every scored pair's probabilities'
    sum, and the links' weight summary: per unordered pair of sources, and per source
    against every other source."""
    quantiles = ", ".join(str(q) for q in DECILES)
    measures = (
        "count(*) filter (accepted), coalesce(sum(match_probability) filter (accepted), 0), "
        "avg(match_probability) filter (accepted), coalesce(sum(match_probability), 0), "
        "min(match_weight) filter (accepted), "
        f"quantile_cont(match_weight, [{quantiles}]) filter (accepted), "
        "max(match_weight) filter (accepted)"
    )
    pairs = _directed(
        con,
        "select least(source_l, source_r), greatest(source_l, source_r), "
        f"{measures} from _sp_scored group by all",
    )
    rest = {
        row[0]: row[1:]
        for row in con.execute(
            f"select source, {measures} from (select source_l as source, * from _sp_scored "
            "where source_l <> source_r union all select source_r as source, * from _sp_scored "
            "where source_l <> source_r) group by all"
        ).fetchall()
    }
    return pairs, rest


def _weight_summary(low: float | None, deciles: list | None, high: float | None) -> dict:
    if low is None:
        return {}
    summary = {"min": round(low, 4)}
    summary |= {f"p{round(q * 100)}": round(v, 4) for q, v in zip(DECILES, deciles, strict=True)}
    summary["max"] = round(high, 4)
    return summary


def measure_source_pairs(
    con: duckdb.DuckDBPyConnection, expected_link_rates: dict[tuple[str, str], float] | None = None
) -> list[SourcePairMetrics]:
    """Linkage quality per pair of sources and per source against the rest of the index.

    Args:
        con: Connection to the warehouse (``linkage.person_matches``, ``linkage.person_links``,
            the unioned records and, when present, ``linkage.person_candidates``).
        expected_link_rates: ``(department, dataset)`` -> link rate its contract expects of
            its records into the rest of the index.

    Returns:
        One row per unordered pair of sources (sources in order, with itself first) and one
        per source against every other source.
    """
    expected = expected_link_rates or {}
    candidates = _prepare(con)
    low, high = UNCERTAIN_BAND
    sources = con.execute(
        "select source, any_value(department), any_value(dataset), count(*) "
        "from _sp_records group by source order by source"
    ).fetchall()
    # Records of source a whose person holds a record of source b (a = b: two of a's).
    linked = _directed(
        con,
        "select a.source, b.source, sum(a.n) filter (a.source <> b.source or a.n >= 2) "
        "from _sp_keys as a inner join _sp_keys as b using (person_key) group by all",
    )
    linked_rest = dict(
        con.execute(
            "select a.source, sum(a.n) from _sp_keys as a where exists (select 1 from _sp_keys "
            "as b where b.person_key = a.person_key and b.source <> a.source) group by all"
        ).fetchall()
    )
    best = (
        "select record_l as record, source_l as source, source_r as target, match_probability "
        "from _sp_scored union all select record_r, source_r, source_l, match_probability "
        "from _sp_scored"
    )
    uncertain = _directed(
        con,
        f"select source, target, count(*) filter (best >= {low} and best < {high}) from ("
        f"select record, source, target, max(match_probability) as best from ({best}) "
        "group by all) group by all",
    )
    uncertain_rest = dict(
        con.execute(
            f"select source, count(*) filter (best >= {low} and best < {high}) from ("
            f"select record, source, max(match_probability) as best from ({best}) "
            "where source <> target group by all) group by all"
        ).fetchall()
    )
    pair_links, rest_links = _link_aggregates(con)
    no_links = (0, 0.0, None, 0.0, None, None, None)
    total = sum(s[3] for s in sources)
    results = []
    for i, (a, dep_a, ds_a, n_a) in enumerate(sources):
        for b, dep_b, ds_b, n_b in sources[i:]:
            if a == b:
                side, n_side = (a, b), n_a
                n_uncertain = uncertain.get((a, a), (0,))[0]
                n_records = n_a
            else:
                side, n_side = ((a, b), n_a) if n_a <= n_b else ((b, a), n_b)
                n_uncertain = uncertain.get((a, b), (0,))[0] + uncertain.get((b, a), (0,))[0]
                n_records = n_a + n_b
            n_linked = int(linked.get(side, (0,))[0] or 0)
            results.append(
                _metrics(
                    (dep_a, ds_a, dep_b, ds_b),
                    (n_a, n_b),
                    (n_linked, n_side),
                    (n_uncertain, n_records),
                    pair_links.get((a, b), no_links),
                    candidates,
                )
            )
        results.append(
            _metrics(
                (dep_a, ds_a, REST, REST),
                (n_a, total - n_a),
                (int(linked_rest.get(a, 0) or 0), n_a),
                (uncertain_rest.get(a, 0), n_a),
                rest_links.get(a, no_links),
                candidates,
                expected.get((dep_a, ds_a)),
            )
        )
    return results


def _metrics(
    names: tuple[str, str, str, str],
    records: tuple[int, int],
    linked: tuple[int, int],
    uncertain: tuple[int, int],
    links: tuple,
    candidates: bool,
    expected_link_rate: float | None = None,
) -> SourcePairMetrics:
    """One row from ``(linked, of records)``, ``(uncertain, of records)`` and the links'
    aggregates (see :func:`_link_aggregates`)."""
    n_links, accepted, mean, scored, low, deciles, high = links
    return SourcePairMetrics(
        *names,
        records_l=records[0],
        records_r=records[1],
        linked_records=linked[0],
        link_rate=linked[0] / linked[1] if linked[1] else None,
        links=n_links,
        match_weight_deciles=_weight_summary(low, deciles, high),
        uncertain_records=uncertain[0] if candidates else 0,
        uncertain_share=(uncertain[0] / uncertain[1] if uncertain[1] else 0.0)
        if candidates
        else None,
        expected_true_links=float(accepted),
        estimated_precision=float(mean) if mean is not None else None,
        estimated_recall=(float(accepted) / float(scored) if scored else None)
        if candidates
        else None,
        candidates_available=candidates,
        expected_link_rate=expected_link_rate,
    )
