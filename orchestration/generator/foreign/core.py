"""Generation of the foreign profile: landing files, ground truth and manifest."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.generator.files import SCHEMAS
from orchestration.generator.foreign.deliveries import DELIVERIES, build_delivery
from orchestration.generator.foreign.people import build_foreign_population
from orchestration.generator.foreign.reference import REFERENCE_DATE
from orchestration.generator.summary import GenerationSummary
from orchestration.generator.truth import write_manifest

logger = logging.getLogger(__name__)

PROFILE = "foreign"
"""The profile's name, and its ground truth's folder under ``<data dir>/ground_truth``."""

PROFILE_STREAM = 1000
"""First spawn key of the profile's random streams (apart from the uk profile's)."""


def _stream(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream for one part of the generation."""
    sequence = np.random.SeedSequence(seed, spawn_key=(PROFILE_STREAM, *key))
    return np.random.Generator(np.random.PCG64(sequence))


def generate_foreign(
    data_dir: Path, citizens: int = 5_000, seed: int = 42, messiness: float = 1.0
) -> GenerationSummary:
    """Generates the foreign profile's population and its departments' deliveries.

    Writes one CSV per delivery in ``DELIVERIES`` under
    ``<data_dir>/landing/<department>/<dataset>/`` and the ground truth under
    ``<data_dir>/ground_truth/foreign/``: ``citizens.parquet`` (the true people),
    ``person_records.parquet`` (which record is whom, read by the linkage metrics) and
    ``manifest.json``. The uk profile's ground truth lies one folder up, so both profiles can
    be generated into one data directory and measured together. The same seed, size and
    messiness always give byte-identical files.

    Args:
        data_dir: Data directory to write into.
        citizens: Number of citizens; ``revenue/taxpayers`` and ``health/patients`` each
            hold one record per citizen.
        seed: Random seed.
        messiness: Multiplier of every rate of mess; 0 leaves only each department's
            conventions.

    Returns:
        A summary of the files written and their row counts.
    """
    began = time.perf_counter()
    data_dir = Path(data_dir)
    pop = build_foreign_population(_stream(seed, 0), citizens)
    summary = GenerationSummary(
        data_dir=data_dir,
        citizens=citizens,
        properties=pop.addresses,
        seed=seed,
        messiness=messiness,
        profile=PROFILE,
    )
    truth_dir = data_dir / "ground_truth" / PROFILE
    truth_dir.mkdir(parents=True, exist_ok=True)
    records = []
    extract = REFERENCE_DATE.replace("-", "")
    for number, spec in enumerate(DELIVERIES, start=1):
        landing, truth = build_delivery(_stream(seed, number), pop, spec, messiness)
        path = (
            data_dir / "landing" / spec.department / spec.dataset / f"{spec.dataset}_{extract}.csv"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            landing.to_csv(handle, index=False, lineterminator="\n")
        summary.files[spec.key] = path
        summary.rows[spec.key] = len(landing)
        records.append(truth)

    person_records = pd.concat(records, ignore_index=True)
    table = pa.Table.from_pandas(
        person_records, schema=SCHEMAS["person_records"], preserve_index=False
    )
    pq.write_table(table, truth_dir / "person_records.parquet", compression="zstd")
    citizens_frame = pop.citizens_frame()
    citizens_frame.to_parquet(truth_dir / "citizens.parquet", index=False, compression="zstd")
    truth_rows = {
        "person_records.parquet": len(person_records),
        "citizens.parquet": len(citizens_frame),
    }
    for name in truth_rows:
        summary.ground_truth[name] = truth_dir / name
    write_manifest(truth_dir / "manifest.json", summary, truth_rows)
    summary.ground_truth["manifest.json"] = truth_dir / "manifest.json"
    summary.elapsed_seconds = time.perf_counter() - began
    logger.info("Generated %d foreign citizens in %.1f s", citizens, summary.elapsed_seconds)
    return summary
