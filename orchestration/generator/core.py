"""Generation of the whole synthetic data set: landing files, ground truth and manifest."""

from __future__ import annotations

import json
import logging
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter
import yaml

from orchestration.generator import datasets
from orchestration.generator.formatting import MessRates, dmy_dates
from orchestration.generator.population import Population, build_population
from orchestration.generator.reference import COUNCIL_TAX_AUTHORITY, LOCAL_AUTHORITIES
from orchestration.ingest import file_sha256

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "1.0.0"
"""Version of the generator, recorded in the manifest."""

CHUNK_CITIZENS = 100_000
"""Citizens processed per chunk; bounds memory whatever the population size."""

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


@dataclass
class GenerationSummary:
    """What a generation run wrote.

    Attributes:
        data_dir: The data directory written to.
        files: Path of every landing file, by ``<department>/<dataset>``.
        rows: Rows delivered in each landing file, by ``<department>/<dataset>``.
        ground_truth: Path of every ground-truth file, by file name.
        citizens: Number of citizens in the population.
        properties: Number of properties.
        seed: Random seed.
        messiness: Multiplier of every mess rate.
        elapsed_seconds: Wall time of the run.
    """

    data_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    ground_truth: dict[str, Path] = field(default_factory=dict)
    citizens: int = 0
    properties: int = 0
    seed: int = 0
    messiness: float = 1.0
    elapsed_seconds: float = 0.0


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


_SCHEMAS = {
    "gp_registrations": pa.schema(
        [
            ("registration_id", pa.string()),
            ("nhs_number", pa.string()),
            ("given_name", pa.string()),
            ("family_name", pa.string()),
            ("date_of_birth", pa.date32()),
            ("sex_code", pa.int64()),
            ("postcode", pa.string()),
            ("practice_code", pa.string()),
            ("registered_on", pa.date32()),
        ]
    ),
    "data_opt_outs": pa.schema([("nhs_number", pa.string()), ("opted_out_on", pa.date32())]),
    "person_records": pa.schema(
        [
            ("department", pa.string()),
            ("dataset", pa.string()),
            ("record_id", pa.string()),
            ("role", pa.string()),
            ("citizen_id", pa.int64()),
        ]
    ),
    "property_records": pa.schema(
        [
            ("department", pa.string()),
            ("dataset", pa.string()),
            ("record_id", pa.string()),
            ("property_id", pa.int64()),
        ]
    ),
}


class _Sink:
    """An append-only landing or truth file written chunk by chunk."""

    def __init__(self, path: Path, kind: str, schema: pa.Schema | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.kind = kind
        self.rows = 0
        self._schema = schema
        self._parquet: pq.ParquetWriter | None = None
        self._text = (
            path.open("w", encoding="utf-8", newline="") if kind in ("csv", "json") else None
        )

    def write(self, frame: pd.DataFrame) -> None:
        """Appends the rows of ``frame``."""
        if self.kind == "csv":
            frame.to_csv(self._text, index=False, header=self.rows == 0, lineterminator="\n")
        elif self.kind == "json":
            if len(frame):
                text = frame.to_json(orient="records", lines=True, force_ascii=False)
                self._text.write(text if text.endswith("\n") else text + "\n")
        else:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._parquet.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finishes the file (an empty Parquet file still gets its schema)."""
        if self._text is not None:
            self._text.close()
        if self.kind == "parquet":
            if self._parquet is None:
                pq.write_table(self._schema.empty_table(), self.path, compression="zstd")
            else:
                self._parquet.close()


def generate_population(
    data_dir: Path,
    citizens: int = 10_000,
    seed: int = 42,
    messiness: float = 1.0,
    progress: bool = False,
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

    Returns:
        A summary of the files written and their row counts.

    Raises:
        ValueError: If ``citizens`` is not positive or ``messiness`` is negative.
    """
    if citizens < 1:
        raise ValueError(f"citizens must be at least 1, got {citizens}")
    if messiness < 0:
        raise ValueError(f"messiness must be 0 or more, got {messiness}")
    began = time.perf_counter()
    data_dir = Path(data_dir)
    mission = load_mission_vars()
    rates = MessRates.scaled(messiness)
    logger.info("Generating %d citizens (seed %d, messiness %s)", citizens, seed, messiness)
    pop = build_population(_rng(seed, 0), citizens, seed, CENSUS_DATE)
    ctx = datasets.make_context(_rng(seed, 1), pop, rates, mission, CENSUS_DATE)

    landing = data_dir / "landing"
    truth_dir = data_dir / "ground_truth"
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
    chunks = [(lo, min(lo + CHUNK_CITIZENS, citizens)) for lo in range(0, citizens, CHUNK_CITIZENS)]
    award_facts, spell_facts, council_rows = [], [], []

    bar = _progress_bar(progress)
    with ExitStack() as stack:
        bar = stack.enter_context(bar) if progress else None
        task = bar.add_task("Generating", total=len(chunks) + 2) if bar else None
        sinks = {
            key: _Sink(path, kind, _SCHEMAS.get(key.split("/")[1]))
            for key, (path, kind) in paths.items()
        }
        persons = _Sink(truth_dir / "person_records.parquet", "parquet", _SCHEMAS["person_records"])
        places = _Sink(
            truth_dir / "property_records.parquet", "parquet", _SCHEMAS["property_records"]
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
        _write_council_xlsx(council_path, council_frame)
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
        _write_truth(
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
    _write_manifest(truth_dir / "manifest.json", summary, truth_rows)
    summary.ground_truth["manifest.json"] = truth_dir / "manifest.json"
    if bar:
        bar.advance(task)
    summary.elapsed_seconds = time.perf_counter() - began
    logger.info("Generated %d citizens in %.1f s", citizens, summary.elapsed_seconds)
    return summary


def _progress_bar(enabled: bool):
    """A rich progress bar when enabled, else a no-op context."""
    if not enabled:
        return nullcontext()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())


def _write_council_xlsx(path: Path, frame: pd.DataFrame) -> None:
    """Writes the council-tax extract as an Excel workbook with real date cells.

    A few dates (flagged in ``_text_date``) are typed as ``dd/mm/yyyy`` text, as happens
    when someone keys them into the spreadsheet by hand.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [c for c in frame.columns if not c.startswith("_")]
    date_columns = {"Liability Start", "Liability End"}
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": pd.Timestamp("2026-04-05").to_pydatetime()})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet = workbook.add_worksheet("Accounts")
    sheet.write_row(0, 0, columns)
    excel_epoch = np.datetime64("1899-12-30")
    cells = {}
    for name in columns:
        values = frame[name]
        if name in date_columns:
            days = values.to_numpy(dtype="datetime64[D]")
            serial = (days - excel_epoch).astype(np.int64).astype(object)
            serial[np.isnat(days)] = None
            text = dmy_dates(days).to_numpy(dtype=object)
            cells[name] = (serial, text)
        else:
            cells[name] = values.astype(object).where(values.notna(), None).to_numpy()
    text_date = frame["_text_date"].to_numpy()
    for row in range(len(frame)):
        for col, name in enumerate(columns):
            if name in date_columns:
                serial, text = cells[name]
                if serial[row] is None:
                    continue
                if text_date[row]:
                    sheet.write_string(row + 1, col, text[row])
                else:
                    sheet.write_number(row + 1, col, serial[row], date_format)
            else:
                value = cells[name][row]
                if value is not None:
                    sheet.write_string(row + 1, col, str(value))
    workbook.close()


def _write_truth(
    truth_dir: Path,
    pop: Population,
    mission: dict,
    awards: pd.DataFrame,
    spells: pd.DataFrame,
    certificates: pd.DataFrame,
) -> dict[str, int]:
    """Writes the true population and the mission answers; returns rows per file."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    citizens = pop.citizens_frame()
    properties = pop.properties_frame()
    citizens.to_parquet(truth_dir / "citizens.parquet", index=False, compression="zstd")
    properties.to_parquet(truth_dir / "properties.parquet", index=False, compression="zstd")
    authorities = pd.DataFrame(
        {
            "gss_code": [a.gss_code for a in LOCAL_AUTHORITIES],
            "name": [a.name for a in LOCAL_AUTHORITIES],
            "postcode_area": [a.postcode_area for a in LOCAL_AUTHORITIES],
            "region": [a.region for a in LOCAL_AUTHORITIES],
        }
    )
    authorities.to_csv(truth_dir / "local_authorities.csv", index=False, lineterminator="\n")
    warm, undeclared = mission_answers(mission, properties, awards, spells, certificates)
    warm.to_csv(truth_dir / "expected_warm_homes.csv", index=False, lineterminator="\n")
    undeclared.to_csv(
        truth_dir / "expected_undeclared_income.csv", index=False, lineterminator="\n"
    )
    return {
        "citizens.parquet": len(citizens),
        "properties.parquet": len(properties),
        "local_authorities.csv": len(authorities),
        "expected_warm_homes.csv": len(warm),
        "expected_undeclared_income.csv": len(undeclared),
    }


def mission_answers(
    mission: dict,
    properties: pd.DataFrame,
    awards: pd.DataFrame,
    spells: pd.DataFrame,
    certificates: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Computes the answers a perfect pipeline would give to the two missions.

    Args:
        mission: Mission parameters from the dbt project ``vars``.
        properties: True properties (``property_id``, ``local_authority_code``).
        awards: True awards (``award_id``, ``citizen_id``, ``property_id``,
            ``benefit_type``, ``award_start``, ``award_end``).
        spells: True PAYE spells (``citizen_id``, ``period_start``, ``period_end``,
            ``gross_pay_pence``).
        certificates: True certificates (``property_id``, ``lodgement_date``, ``rating``).

    Returns:
        The expected warm-homes rows (one per local authority with a certificate) and
        the expected undeclared-income rows (one per flagged award).
    """
    params = {
        "snapshot": pd.Timestamp(str(mission["snapshot_date"])).date(),
        "threshold": float(mission["undeclared_income_threshold_gbp"]),
        "income_related": list(mission["income_related_benefits"]),
        "poor": list(mission["poor_energy_ratings"]),
    }
    with duckdb.connect() as con:
        for name, frame in (
            ("properties", properties[["property_id", "local_authority_code"]]),
            ("awards", awards),
            ("spells", spells),
            ("certificates", certificates),
        ):
            con.register(name, frame)
        warm = con.execute(
            """
            with latest as (
                select property_id, arg_max(rating, lodgement_date) as rating
                from certificates group by property_id
            ),
            supported as (
                select distinct property_id from awards
                where list_contains($income_related, benefit_type)
                  and award_start <= $snapshot
                  and (award_end is null or award_end >= $snapshot)
            )
            select p.local_authority_code,
                   count(*) as homes_with_certificate,
                   count(*) filter (where list_contains($poor, l.rating))
                       as homes_rated_e_to_g,
                   count(*) filter (where list_contains($poor, l.rating)
                                      and s.property_id is not null)
                       as homes_e_to_g_income_related
            from latest l
            join properties p using (property_id)
            left join supported s using (property_id)
            group by p.local_authority_code
            order by p.local_authority_code
            """,
            {k: params[k] for k in ("income_related", "poor", "snapshot")},
        ).df()
        undeclared = con.execute(
            """
            select a.award_id,
                   round(sum(s.gross_pay_pence) / 100.0, 2) as overlapping_gross_pay
            from awards a
            join spells s
              on s.citizen_id = a.citizen_id
             and s.period_start <= coalesce(a.award_end, $snapshot)
             and s.period_end >= a.award_start
            where list_contains($income_related, a.benefit_type)
            group by a.award_id
            having sum(s.gross_pay_pence) / 100.0 > $threshold
            order by a.award_id
            """,
            {k: params[k] for k in ("income_related", "snapshot", "threshold")},
        ).df()
    return warm, undeclared


def _write_manifest(path: Path, summary: GenerationSummary, truth_rows: dict[str, int]) -> None:
    """Writes the manifest: parameters, and row count and SHA-256 of every file."""
    files = {}
    for key, file in sorted(summary.files.items()):
        rel = file.relative_to(summary.data_dir).as_posix()
        files[rel] = {"dataset": key, "rows": summary.rows[key], "sha256": file_sha256(file)}
    for name, rows in sorted(truth_rows.items()):
        file = path.parent / name
        files[file.relative_to(summary.data_dir).as_posix()] = {
            "rows": rows,
            "sha256": file_sha256(file),
        }
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": summary.seed,
        "citizens": summary.citizens,
        "properties": summary.properties,
        "messiness": summary.messiness,
        "files": files,
    }
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
