"""Linkage quality: pairwise precision, recall and F1 and cluster purity against a ground
truth, and the measures that need none (cluster sizes, conflicting dates of birth).

Both sides are tables of ``(record id, cluster)``; only records present on both sides are
compared. A pair of records is a predicted link when they share a predicted cluster and a
true link when they share a true entity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.privacy import pseudonym

PSEUDONYMISED_RECORD_IDS: dict[tuple[str, str], str] = {
    ("dfe", "school_census"): "upn",
    ("nhs", "data_opt_outs"): "nhs_number",
}
"""Datasets whose record id in the warehouse is the pseudonym of a direct identifier (their
key is the identifier itself), with the pseudonym's domain. The ground truth holds the
identifier; it is pseudonymised with the same key to be compared."""

SIZE_BANDS = ((1, 1), (2, 2), (3, 5), (6, 10), (11, 50), (51, None))
"""Cluster-size bands of the published size distribution."""


@dataclass
class LinkageMetrics:
    """Quality of one entity's linkage in one run.

    Attributes:
        entity: ``person`` or ``property``.
        records: Records clustered.
        clusters: Clusters (persons or properties) found.
        largest_cluster: Records in the largest cluster.
        size_distribution: Clusters per size band, e.g. ``{"1": 900, "2": 40, "3-5": 7}``.
        share_conflicting_dob: Share of the links kept by the clustering whose two records
            both hold a date of birth and the dates differ, among those whose records both hold
            one (None where links carry no dates of birth).
        precision: Share of predicted pairs that are true pairs (None without ground truth).
        recall: Share of true pairs that are predicted (None without ground truth).
        f1: Harmonic mean of precision and recall (None without ground truth).
        purity: Share of records in the majority true entity of their cluster.
        truth_records: Records compared with the ground truth (0 without one).
    """

    entity: str
    records: int
    clusters: int
    largest_cluster: int
    size_distribution: dict[str, int]
    share_conflicting_dob: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    purity: float | None = None
    truth_records: int = 0

    def as_row(self) -> dict:
        """The metrics as one row of ``governance.linkage_metrics`` (sizes as JSON text)."""
        import json

        row = asdict(self)
        row["size_distribution"] = json.dumps(self.size_distribution)
        return row


def cluster_sizes(con: duckdb.DuckDBPyConnection, predicted: str) -> tuple[int, int, int, dict]:
    """Records, clusters, largest cluster and size bands of a ``(record_id, cluster)`` table."""
    records, clusters = con.execute(
        f"select count(*), count(distinct cluster) from {predicted}"
    ).fetchall()[0]
    sizes = dict(
        con.execute(
            f"select n, count(*) from (select count(*) as n from {predicted} group by cluster) "
            "group by n"
        ).fetchall()
    )
    largest = max(sizes, default=0)
    bands = {}
    for low, high in SIZE_BANDS:
        label = str(low) if low == high else (f"{low}-{high}" if high else f"{low}+")
        bands[label] = sum(v for n, v in sizes.items() if n >= low and (high is None or n <= high))
    return records, clusters, largest, bands


def pairwise_scores(
    con: duckdb.DuckDBPyConnection, predicted: str, truth: str
) -> tuple[float, float, float, float, int]:
    """Pairwise precision, recall, F1 and purity of ``predicted`` against ``truth``.

    Args:
        con: Connection holding both tables.
        predicted: Table or query of ``(record_id, cluster)``.
        truth: Table or query of ``(record_id, entity)``.

    Returns:
        ``(precision, recall, f1, purity, records compared)``; a side without pairs scores 1.
    """
    row = con.execute(
        f"""
        with joined as (
            select p.cluster, t.entity
            from {predicted} as p inner join {truth} as t on p.record_id = t.record_id
        ),
        predicted_pairs as (
            select sum(n * (n - 1) / 2) as pairs
            from (select count(*) as n from joined group by cluster)
        ),
        true_pairs as (
            select sum(n * (n - 1) / 2) as pairs
            from (select count(*) as n from joined group by entity)
        ),
        both_pairs as (
            select sum(n * (n - 1) / 2) as pairs, sum(n) as records
            from (select count(*) as n from joined group by cluster, entity)
        ),
        majority as (
            select sum(top) as records
            from (
                select max(n) as top
                from (select cluster, count(*) as n from joined group by cluster, entity)
                group by cluster
            )
        )
        select predicted_pairs.pairs, true_pairs.pairs, both_pairs.pairs, both_pairs.records,
            majority.records
        from predicted_pairs, true_pairs, both_pairs, majority
        """
    ).fetchall()[0]
    predicted_pairs, true_pairs, both, records, majority = (float(v or 0) for v in row)
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    purity = majority / records if records else 1.0
    return precision, recall, f1, purity, int(records)


def truth_files(ground_truth_dir: Path, entity: str) -> dict[str, Path]:
    """The ground-truth files of an entity, by generator profile: the uk profile's
    ``<dir>/<entity>_records.parquet`` and each other profile's
    ``<dir>/<profile>/<entity>_records.parquet``."""
    found = {}
    uk = ground_truth_dir / f"{entity}_records.parquet"
    if uk.exists():
        found["uk"] = uk
    for path in sorted(ground_truth_dir.glob(f"*/{entity}_records.parquet")):
        found[path.parent.name] = path
    return found


def truth_query(
    con: duckdb.DuckDBPyConnection, ground_truth_dir: Path, entity: str, key: str
) -> str | None:
    """Loads the generator's ground truth of an entity as table ``truth_<entity>``.

    Record ids are built as the warehouse builds them (``department:dataset:id``, with
    ``:parent`` for a DfE parent or carer, pseudonymised where the warehouse's id is a
    pseudonym). Every profile's ground truth found (see :func:`truth_files`) is read, each
    entity prefixed with its profile (``uk:17``, ``foreign:17``), so that profiles generated
    into one data directory are measured together.

    Returns:
        The table name, or None when there is no ground truth (production).
    """
    paths = truth_files(ground_truth_dir, entity)
    if not paths:
        return None
    entity_column = "citizen_id" if entity == "person" else "property_id"
    role = "role" if entity == "person" else "cast(null as varchar)"
    selects = " union all ".join(
        f"select department, dataset, record_id, {role} as role, "
        f"? || ':' || cast({entity_column} as varchar) as entity from read_parquet(?)"
        for _ in paths
    )
    con.execute(
        f"create or replace temp table _truth_source as {selects}",
        [value for profile, path in paths.items() for value in (profile, str(path))],
    ).complete()
    # Only the pseudonymised datasets' ids go through Python; the rest stays in SQL.
    departments, datasets, record_ids, pseudonyms = [], [], [], []
    for (department, dataset), domain in PSEUDONYMISED_RECORD_IDS.items():
        ids = con.execute(
            "select distinct record_id from _truth_source "
            "where department = ? and dataset = ? and record_id is not null",
            [department, dataset],
        ).fetchnumpy()["record_id"]
        for record_id in ids.tolist():
            departments.append(department)
            datasets.append(dataset)
            record_ids.append(record_id)
            pseudonyms.append(pseudonym(key, domain, record_id))
    columns = {
        "department": departments,
        "dataset": datasets,
        "record_id": record_ids,
        "pseudonym": pseudonyms,
    }
    con.register(
        "_truth_pseudonyms",
        pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()}),
    )
    table = f"truth_{entity}"
    con.execute(
        f"""
        create or replace temp table {table} as
        select
            s.department || ':' || s.dataset || ':' || coalesce(p.pseudonym, s.record_id)
                || case when s.role = 'parent' then ':parent' else '' end as record_id,
            s.entity
        from _truth_source as s
        left join _truth_pseudonyms as p
            on s.department = p.department
            and s.dataset = p.dataset
            and s.record_id = p.record_id
        """
    ).complete()
    con.unregister("_truth_pseudonyms")
    con.execute("drop table _truth_source").complete()
    return table


def measure(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    predicted: str,
    truth: str | None,
    links_with_dob: str | None = None,
) -> LinkageMetrics:
    """All metrics of one entity's linkage.

    Args:
        con: Connection holding the tables.
        entity: ``person`` or ``property``.
        predicted: Table or query of ``(record_id, cluster)``.
        truth: Table or query of ``(record_id, entity)``, or None without ground truth.
        links_with_dob: Table or query of the kept links' ``(dob_l, dob_r)``, for the share
            of links with conflicting dates of birth (links without both dates are left out).
    """
    records, clusters, largest, bands = cluster_sizes(con, predicted)
    metrics = LinkageMetrics(
        entity=entity,
        records=records,
        clusters=clusters,
        largest_cluster=largest,
        size_distribution=bands,
    )
    if links_with_dob:
        both, conflicting = con.execute(
            f"select count(*), count(*) filter (dob_l <> dob_r) from {links_with_dob} "
            "where dob_l is not null and dob_r is not null"
        ).fetchall()[0]
        metrics.share_conflicting_dob = conflicting / both if both else 0.0
    if truth:
        (
            metrics.precision,
            metrics.recall,
            metrics.f1,
            metrics.purity,
            metrics.truth_records,
        ) = pairwise_scores(con, predicted, truth)
    return metrics
