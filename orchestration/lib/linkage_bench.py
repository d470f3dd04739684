"""Measuring the person linkage alone: time, F1 and peak memory at a population size.

Runs on a data directory whose warehouse already holds ``int_person_records_unioned``
(after a pipeline run), so that the linkage is timed apart from ingest and dbt.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib import linkage, linkage_metrics


@dataclass
class LinkageBenchmark:
    """One linkage measurement.

    Attributes:
        records: Person records linked.
        train_seconds: Time to train the model (u sampling and EM).
        link_seconds: Time to score, cluster and key the records.
        f1: Pairwise F1 against the ground truth (None without one).
        precision: Pairwise precision.
        recall: Pairwise recall.
        peak_rss_mib: Peak resident memory of this process so far, MiB.
    """

    records: int
    train_seconds: float
    link_seconds: float
    f1: float | None
    precision: float | None
    recall: float | None
    peak_rss_mib: float


def measure_linkage(data_dir: Path, memory_limit: str = "3GB") -> LinkageBenchmark:
    """Trains and runs the person linkage on ``data_dir``'s warehouse and scores it.

    The warehouse is attached read-only: nothing is written to it.

    Args:
        data_dir: A Common Ground data directory after a pipeline run.
        memory_limit: DuckDB memory limit of the linkage connection.
    """
    from orchestration.lib.contracts import load_contracts
    from orchestration.lib.privacy import health_datasets
    from orchestration.settings import DEVELOPMENT_PSEUDONYM_KEY

    health = health_datasets(load_contracts())
    con = linkage.linkage_connection(memory_limit, data_dir / "tmp" / "linkage-bench")
    try:
        con.execute(f"attach '{data_dir / 'warehouse.duckdb'}' as wh (read_only)").complete()
        started = time.perf_counter()
        records, _ = linkage.prepare_from_warehouse(con, health)
        model = linkage.train_person_model(con)
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        linkage.link_persons(con, model, DEVELOPMENT_PSEUDONYM_KEY)
        link_seconds = time.perf_counter() - started
        truth = linkage_metrics.truth_query(
            con, data_dir / "ground_truth", "person", DEVELOPMENT_PSEUDONYM_KEY
        )
        metrics = linkage_metrics.measure(
            con,
            "person",
            "(select person_record_id as record_id, person_key as cluster from person_matches)",
            truth,
        )
    finally:
        con.close()
    return LinkageBenchmark(
        records=records,
        train_seconds=train_seconds,
        link_seconds=link_seconds,
        f1=metrics.f1,
        precision=metrics.precision,
        recall=metrics.recall,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
