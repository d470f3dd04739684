"""The person linkage model: its Splink specification, training, and versioned model files.

The model is a Fellegi-Sunter model (Splink 5 on DuckDB) over the standard person
attributes. Its m and u parameters are trained by random sampling and expectation
maximisation, saved as a versioned JSON file and reused until retrained.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

logger = logging.getLogger(__name__)

MODEL_SPEC_VERSION = "person-2"
"""Version of the model's specification (comparisons and blocking rules). Change it when
the specification changes: stored models of another version are then not reused."""


def person_settings(threshold_years: int = 10):
    """The Splink model specification for person records (untrained).

    Args:
        threshold_years: Widest difference in years of birth still scored above "else".

    Returns:
        A ``splink.SettingsCreator`` for deduplicating the prepared person records.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    given_name = cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name"),
            cll.ExactMatchLevel("given_name_canonical").configure(
                label_for_charts="Same formal name (nickname)"
            ),
            cll.JaroWinklerLevel("given_name", 0.92),
            cll.JaroWinklerLevel("given_name", 0.8),
            cll.ElseLevel(),
        ],
        comparison_description="Given name: exact, nickname of the same name, or similar",
    )
    date_of_birth = cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel(
                "strftime(date_of_birth_l, '%Y-%m-%d') = strftime(date_of_birth_r, '%Y-%d-%m')",
                label_for_charts="Day and month transposed",
            ),
            cll.LevenshteinLevel("date_of_birth_text", distance_threshold=1).configure(
                label_for_charts="One digit different"
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", threshold=1, metric="year", input_is_string=False
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", threshold=threshold_years, metric="year", input_is_string=False
            ),
            cll.ElseLevel(),
        ],
        comparison_description="Date of birth: exact, transposed, one digit, within years",
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="person_record_id",
        comparisons=[
            given_name,
            cl.NameComparison("family_name"),
            date_of_birth,
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("uprn").configure(m_probabilities=[0.9, 0.1]),
            cl.ExactMatch("sex"),
            cl.ExactMatch("nino").configure(m_probabilities=[0.99, 0.01]),
            cl.ExactMatch("nhs_number").configure(m_probabilities=[0.99, 0.01]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nino"),
            block_on("nhs_number"),
            block_on("family_name", "date_of_birth"),
            block_on("given_name_canonical", "date_of_birth"),
            block_on("family_name", "postcode"),
            block_on("given_name_canonical", "postcode"),
            block_on("family_name", "given_name_canonical", "year(date_of_birth)"),
            block_on(
                "family_name",
                "given_name_canonical",
                "month(date_of_birth)",
                "day(date_of_birth)",
            ),
            "l.family_name = r.family_name and l.given_name_canonical = r.given_name_canonical "
            "and (l.date_of_birth is null or r.date_of_birth is null)",
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
        max_iterations=20,
    )


def linker(con: duckdb.DuckDBPyConnection, settings):
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    records = db_api.register("person_input")
    return Linker(records, settings, log_level=logging.WARNING)


def train_person_model(con: duckdb.DuckDBPyConnection, seed: int = 42) -> dict[str, Any]:
    """Trains the person model on ``person_input``: u by random sampling, m by EM.

    Args:
        con: The linkage connection holding ``person_input``.
        seed: Seed of the random sampling, so training is reproducible.

    Returns:
        The trained model as a Splink settings dictionary (JSON-serialisable).
    """
    from splink import block_on

    trainer = linker(con, person_settings())
    trainer.training.estimate_probability_two_random_records_match(
        [block_on("nino"), block_on("nhs_number")], recall=0.5
    )
    trainer.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    sessions = {
        "date_of_birth": block_on("date_of_birth"),
        "family_name, given_name_canonical": block_on("family_name", "given_name_canonical"),
    }
    for columns, rule in sessions.items():
        try:
            trainer.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=1e6, estimate_without_term_frequencies=True
            )
        except ValueError as exc:
            # On very small populations a comparison level can be unseen among matches and
            # EM drives its m probability to 0, which Splink refuses. That session's
            # estimates are dropped; the other session's (or the defaults) stand.
            if "below the minimum" not in str(exc):
                raise
            logger.warning("EM session blocked on %s skipped: %s", columns, exc)
    return trainer.misc.save_model_to_json()


def save_model(model: dict[str, Any], models_dir: Path) -> Path:
    """Writes a trained model as ``<spec version>-<UTC timestamp>.json`` and returns its path."""
    models_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = models_dir / f"{MODEL_SPEC_VERSION}-{stamp}.json"
    path.write_text(json.dumps(model, indent=2, sort_keys=True), encoding="utf-8")
    return path


def latest_model(models_dir: Path) -> Path | None:
    """The newest stored model of the current specification version, or None."""
    if not models_dir.exists():
        return None
    paths = sorted(models_dir.glob(f"{MODEL_SPEC_VERSION}-*.json"))
    return paths[-1] if paths else None


def match_weights(model: dict[str, Any]) -> list[tuple[str, str, float]]:
    """Each comparison level's match weight (log2 of m/u) in a trained model.

    Returns:
        ``(comparison, level label, match weight)`` rows; levels without trained m and u
        (null levels) are left out.
    """
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level") or not m or not u:
                continue
            label = level.get("label_for_charts") or level["sql_condition"]
            rows.append((comparison["output_column_name"], label, float(np.log2(m / u))))
    return rows
