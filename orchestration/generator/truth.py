"""The ground truth: the true population, the mission answers and the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from orchestration.generator.population import Population
from orchestration.generator.reference import LOCAL_AUTHORITIES
from orchestration.ingest import file_sha256

if TYPE_CHECKING:
    from orchestration.generator.summary import GenerationSummary

GENERATOR_VERSION = "1.0.0"
"""Version of the generator, recorded in the manifest."""


def write_truth(
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


def write_manifest(path: Path, summary: GenerationSummary, truth_rows: dict[str, int]) -> None:
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
    if summary.profile != "uk":
        # Only other profiles say so, which keeps the uk manifest as it always was.
        manifest["profile"] = summary.profile
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
