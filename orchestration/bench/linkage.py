"""Measuring the person linkage alone: time, F1 and peak memory at a population size.

Runs on a data directory whose warehouse already holds ``int_person_records_unioned``
(after a pipeline run), so that the linkage is timed apart from ingest and dbt. The
warehouse is attached read-only: nothing is written to it.
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from orchestration import linkage
from orchestration.contracts import load_contracts
from orchestration.linkage import metrics as linkage_metrics
from orchestration.privacy import health_datasets
from orchestration.settings import DEVELOPMENT_PSEUDONYM_KEY
from orchestration.sql import quote_literal

DEFAULT_MEMORY_LIMIT = linkage.LINKAGE_MEMORY_LIMIT
"""DuckDB memory limit of the measured linkage connection: the pipeline's cap."""


def peak_rss_mb() -> float:
    """Peak resident memory of this process since it started, MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure_linkage(data_dir: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict[str, Any]:
    """Trains and runs the person linkage on ``data_dir``'s warehouse and scores it.

    Args:
        data_dir: A Common Ground data directory after a pipeline run (its warehouse holds
            ``intermediate.int_person_records_unioned``; its ``ground_truth`` folder, when
            there is one, gives precision, recall and F1).
        memory_limit: DuckDB memory limit of the linkage connection.

    Returns:
        A flat dictionary: ``records``, ``links`` (pairs at or above the threshold),
        ``refused_links``, ``clusters``; ``prepare_seconds``, ``train_seconds``,
        ``score_seconds``, ``cluster_seconds``, ``key_seconds``, ``seconds`` (the linkage
        itself: prepare, train, score, cluster and key) and ``metrics_seconds`` (scoring
        against the ground truth, not included in ``seconds``); ``f1``, ``precision``,
        ``recall``, ``purity`` (None without ground truth); ``peak_rss_mb``, the peak
        resident memory of this process since it started (it includes whatever the process
        did before, so measure in a fresh process for a figure of the linkage alone).
    """
    data_dir = Path(data_dir)
    warehouse = data_dir / "warehouse.duckdb"
    if not warehouse.exists():
        raise FileNotFoundError(
            f"{warehouse} does not exist: run the pipeline on {data_dir} before measuring"
        )
    health = health_datasets(load_contracts())
    temp_dir = data_dir / "tmp" / "linkage-bench"
    con = linkage.linkage_connection(memory_limit, temp_dir)
    try:
        con.execute(f"attach {quote_literal(str(warehouse))} as wh (read_only)").complete()
        started = time.perf_counter()
        records, _ = linkage.prepare_from_warehouse(con, health)
        prepared = time.perf_counter()
        model = linkage.train_person_model(con, linkage.shared_attributes(con))
        trained = time.perf_counter()
        result = linkage.link_persons(con, model, DEVELOPMENT_PSEUDONYM_KEY)
        linked = time.perf_counter()
        truth = linkage_metrics.truth_query(
            con, data_dir / "ground_truth", "person", DEVELOPMENT_PSEUDONYM_KEY
        )
        metrics = linkage_metrics.measure(
            con,
            "person",
            "(select person_record_id as record_id, person_key as cluster from person_matches)",
            truth,
        )
        measured = time.perf_counter()
    finally:
        con.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
    return {
        "records": records,
        "links": result.links,
        "refused_links": result.refused_links,
        "clusters": metrics.clusters,
        "largest_cluster": metrics.largest_cluster,
        "prepare_seconds": prepared - started,
        "train_seconds": trained - prepared,
        "score_seconds": result.score_seconds,
        "cluster_seconds": result.cluster_seconds,
        "key_seconds": result.key_seconds,
        "seconds": linked - started,
        "metrics_seconds": measured - linked,
        "f1": metrics.f1,
        "precision": metrics.precision,
        "recall": metrics.recall,
        "purity": metrics.purity,
        "peak_rss_mb": peak_rss_mb(),
        "memory_limit": memory_limit,
    }
