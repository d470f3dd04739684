"""Generation of the whole synthetic data set: landing files, ground truth and manifest.

The builders of each department's delivery are in :mod:`~orchestration.generator.datasets`,
the file writers in :mod:`~orchestration.generator.files` and the ground truth in
:mod:`~orchestration.generator.truth`.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from orchestration.generator import datasets
from orchestration.generator.files import SCHEMAS, Sink, write_council_xlsx
from orchestration.generator.foreign import generate_foreign
from orchestration.generator.formatting import MessRates
from orchestration.generator.population import build_population
from orchestration.generator.reference import COUNCIL_TAX_AUTHORITY
from orchestration.generator.summary import GenerationSummary as GenerationSummary
from orchestration.generator.truth import GENERATOR_VERSION as GENERATOR_VERSION
from orchestration.generator.truth import mission_answers as mission_answers
from orchestration.generator.truth import write_manifest, write_truth

logger = logging.getLogger(__name__)

CHUNK_CITIZENS = 100_000
"""Citizens processed per chunk; bounds memory whatever the population size."""

PROFILES = ("uk", "foreign")
"""Generator profiles: the sample UK departments, and a fictional country's departments."""

CENSUS_DATE = np.datetime64("2026-01-15")
"""Date of the school census."""

DBT_PROJECT_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
"""The dbt project file whose ``vars`` hold the mission parameters."""

_MISSION_VARS = (
    "snapshot_date",
    "tax_year",
    "undeclared_income_threshold_gbp",
    "income_related_benefits",
    "poor_energy_ratings",
)


def load_mission_vars(path: Path = DBT_PROJECT_FILE) -> dict:
    """Reads the mission parameters from the ``vars`` of the dbt project file.

    Args:
        path: The ``dbt_project.yml`` to read.

    Returns:
        The mission parameters by name.

    Raises:
        KeyError: If a mission parameter is missing from the file's ``vars``.
    """
    with path.open(encoding="utf-8") as handle:
        variables = yaml.safe_load(handle).get("vars", {})
    missing = [name for name in _MISSION_VARS if name not in variables]
    if missing:
        raise KeyError(f"{path} lacks the mission vars {missing}; add them under `vars:`")
    return {name: variables[name] for name in _MISSION_VARS}


def _rng(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream for one part of the generation."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def generate_population(
    data_dir: Path,
    citizens: int = 10_000,
    seed: int = 42,
    messiness: float = 1.0,
    progress: bool = False,
    profile: str = "uk",
) -> GenerationSummary:
    """Generates a coherent synthetic population and every department's delivery of it.

    Writes the landing files each data contract describes under
    ``<data_dir>/landing/<department>/<dataset>/``, and the ground truth (true citizens
    and properties, which record is whom and where, and the mission answers a perfect
    pipeline would give) under ``<data_dir>/ground_truth/``. The same seed, size and
    messiness always give byte-identical files.

    Args:
        data_dir: Data directory to write into.
        citizens: Number of citizens in the population.
        seed: Random seed.
        messiness: Multiplier of every rate of mess (typos, missing values, invalid
            identifiers, duplicates, stale addresses); 0 gives clean data.
        progress: Whether to show a progress bar on the terminal.
        profile: ``uk`` (the sample UK departments) or ``foreign`` (departments of a
            fictional country, see :mod:`~orchestration.generator.foreign`).

    Returns:
        A summary of the files written and their row counts.

    Raises:
        ValueError: If ``citizens`` is not positive, ``messiness`` is negative or the
            profile is unknown.
    """
    if citizens < 1:
        raise ValueError(f"citizens must be at least 1, got {citizens}")
    if messiness < 0:
        raise ValueError(f"messiness must be 0 or more, got {messiness}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if profile == "foreign":
        return generate_foreign(Path(data_dir), citizens=citizens, seed=seed, messiness=messiness)
    began = time.perf_counter()
    data_dir = Path(data_dir)
    mission = load_mission_vars()
    rates = MessRates.scaled(messiness)
    logger.info("Generating %d citizens (seed %d, messiness %s)", citizens, seed, messiness)
    pop = build_population(_rng(seed, 0), citizens, seed, CENSUS_DATE)
    ctx = datasets.make_context(_rng(seed, 1), pop, rates, mission, CENSUS_DATE)

    landing = data_dir / "landing"
    truth_dir = data_dir / "ground_truth"
    paths, council_path = _landing_paths(landing, ctx)
    chunks = [(lo, min(lo + CHUNK_CITIZENS, citizens)) for lo in range(0, citizens, CHUNK_CITIZENS)]
    award_facts, spell_facts, council_rows = [], [], []

    bar = _progress_bar(progress)
    with ExitStack() as stack:
        bar = stack.enter_context(bar) if progress else None
        task = bar.add_task("Generating", total=len(chunks) + 2) if bar else None
        sinks = {
            key: Sink(path, kind, SCHEMAS.get(key.split("/")[1]))
            for key, (path, kind) in paths.items()
        }
        persons = Sink(truth_dir / "person_records.parquet", "parquet", SCHEMAS["person_records"])
        places = Sink(
            truth_dir / "property_records.parquet", "parquet", SCHEMAS["property_records"]
        )
        for sink in [*sinks.values(), persons, places]:
            stack.callback(sink.close)

        def emit(key: str, chunk: datasets.Chunk) -> None:
            sinks[key].write(chunk.landing)
            if chunk.persons is not None:
                persons.write(chunk.persons)
            if chunk.properties is not None:
                places.write(chunk.properties)

        for number, (lo, hi) in enumerate(chunks):
            awards = datasets.benefit_awards(_rng(seed, 2, number), pop, ctx, lo, hi)
            emit("dwp/benefit_awards", awards)
            award_facts.append(awards.facts)
            paye = datasets.paye_income(_rng(seed, 3, number), pop, ctx, lo, hi, awards.facts)
            emit("hmrc/paye_income", paye)
            spell_facts.append(paye.facts)
            registrations, opt_outs = datasets.gp_registrations(
                _rng(seed, 4, number), pop, ctx, lo, hi
            )
            emit("nhs/gp_registrations", registrations)
            emit("nhs/data_opt_outs", opt_outs)
            emit(
                "dfe/school_census", datasets.school_census(_rng(seed, 5, number), pop, ctx, lo, hi)
            )
            council = datasets.council_tax(_rng(seed, 6, number), pop, ctx, lo, hi)
            council_rows.append(council.landing)
            if council.persons is not None:
                persons.write(council.persons)
                places.write(council.properties)
            if bar:
                bar.advance(task)
            logger.debug("Chunk %d of %d done", number + 1, len(chunks))

        epc = datasets.energy_certificates(_rng(seed, 7), pop, ctx)
        emit("dluhc/energy_certificates", epc)
        council_frame = pd.concat(council_rows, ignore_index=True)
        write_council_xlsx(council_path, council_frame)
        if bar:
            bar.advance(task)

    summary = GenerationSummary(
        data_dir=data_dir,
        citizens=citizens,
        properties=pop.properties,
        seed=seed,
        messiness=messiness,
    )
    for key, sink in sinks.items():
        summary.files[key] = sink.path
        summary.rows[key] = sink.rows
    summary.files["council/council_tax"] = council_path
    summary.rows["council/council_tax"] = len(council_frame)

    truth_rows = {"person_records.parquet": persons.rows, "property_records.parquet": places.rows}
    truth_rows.update(
        write_truth(
            truth_dir,
            pop,
            mission,
            pd.concat(award_facts, ignore_index=True),
            pd.concat(spell_facts, ignore_index=True),
            epc.facts,
        )
    )
    for name in truth_rows:
        summary.ground_truth[name] = truth_dir / name
    write_manifest(truth_dir / "manifest.json", summary, truth_rows)
    summary.ground_truth["manifest.json"] = truth_dir / "manifest.json"
    if bar:
        bar.advance(task)
    summary.elapsed_seconds = time.perf_counter() - began
    logger.info("Generated %d citizens in %.1f s", citizens, summary.elapsed_seconds)
    return summary


def _landing_paths(
    landing: Path, ctx: datasets.Context
) -> tuple[dict[str, tuple[Path, str]], Path]:
    """Each dataset's landing file and its kind by ``<department>/<dataset>``, and the
    council-tax workbook (written whole at the end, not chunk by chunk)."""
    extract = str(ctx.extract_date)
    paths = {
        "hmrc/paye_income": (landing / f"hmrc/paye_income/paye_income_{ctx.tax_year}.csv", "csv"),
        "dwp/benefit_awards": (
            landing / f"dwp/benefit_awards/benefit_awards_{extract}.json",
            "json",
        ),
        "nhs/gp_registrations": (
            landing / f"nhs/gp_registrations/gp_registrations_{extract}.parquet",
            "parquet",
        ),
        "nhs/data_opt_outs": (
            landing / f"nhs/data_opt_outs/data_opt_outs_{extract}.parquet",
            "parquet",
        ),
        "dluhc/energy_certificates": (
            landing / f"dluhc/energy_certificates/energy_certificates_{extract}.csv",
            "csv",
        ),
        "dfe/school_census": (
            landing / f"dfe/school_census/school_census_{CENSUS_DATE}.csv",
            "csv",
        ),
    }
    council_path = (
        landing / f"council/council_tax/council_tax_{COUNCIL_TAX_AUTHORITY}_{extract}.xlsx"
    )
    return paths, council_path


def _progress_bar(enabled: bool):
    """A rich progress bar when enabled, else a no-op context."""
    if not enabled:
        return nullcontext()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
