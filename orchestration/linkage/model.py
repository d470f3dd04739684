"""The person linkage model: its Splink specification, training, and versioned model files.

The model is a Fellegi-Sunter model (Splink 5 on DuckDB) over the standard person
attributes. Its m and u parameters are trained by random sampling and expectation
maximisation, saved as a versioned JSON file and reused until retrained.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from orchestration.linkage.comparisons import (
    ADDRESS_PARTS,
    address_comparison,
    date_of_birth_comparison,
    family_name_comparison,
    given_name_comparison,
    postal_code_comparison,
)
from orchestration.state import write_atomically

logger = logging.getLogger(__name__)

MODEL_SPEC_VERSION = "person-4"
"""Version of the model's specification (comparisons and blocking rules). Change it when
the specification changes: stored models of another version are then not reused."""

DEMO_ATTRIBUTES = frozenset(
    {
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "postcode",
        "uprn",
        "nino",
        "nhs_number",
    }
)
"""The attributes the UK sample departments share: the model built from them is the one the
platform was tuned on."""

NATIONAL_IDENTIFIERS = ("nino", "nhs_number", "upn_pseudonym")
"""National identifiers in the person records (a person holds at most one of each)."""

IDENTIFIER_PREFIX = "identifier_"
"""Prefix of the pseudonym column of each ``person.identifier`` scheme (and suffix
``_pseudonym``)."""


class NoMatchEvidenceError(ValueError):
    """The person records hold no attribute strong enough to estimate how often two records
    match (no identifier shared by two sources, nor names with a date of birth)."""


def identifiers(attributes: Collection[str]) -> list[str]:
    """The identifiers among ``attributes``: national ones first, then each scheme's."""
    schemes = sorted(a for a in attributes if is_identifier_scheme(a))
    return [a for a in NATIONAL_IDENTIFIERS if a in attributes] + schemes


def is_identifier_scheme(column: str) -> bool:
    """Whether a person-record column is the pseudonym of a ``person.identifier`` scheme."""
    return column.startswith(IDENTIFIER_PREFIX) and column.endswith("_pseudonym")


def person_comparisons(attributes: Collection[str], threshold_years: int = 10) -> list:
    """The Splink comparisons of the attributes shared by two or more record sources.

    Args:
        attributes: Person-record columns present in at least two sources (see
            :func:`~orchestration.linkage.person.shared_attributes`).
        threshold_years: Widest difference in years of birth still scored above "else".
    """
    import splink.comparison_library as cl

    names = ("given_name", "family_name")
    makers = {
        "given_name": given_name_comparison,
        "family_name": family_name_comparison,
        "date_of_birth": lambda: date_of_birth_comparison(threshold_years),
        "postcode": lambda: cl.PostcodeComparison("postcode"),
        "postal_code": postal_code_comparison,
        "uprn": lambda: cl.ExactMatch("uprn").configure(m_probabilities=[0.9, 0.1]),
        "sex": lambda: cl.ExactMatch("sex"),
    }
    parts = [p for p in ADDRESS_PARTS if p in attributes]
    if len(parts) > 1:
        # The address parts are compared together, as one address.
        makers = {name: make for name, make in makers.items() if name not in parts}
        makers["address"] = lambda: address_comparison(parts)
        attributes = {*attributes, "address"}
    comparisons = [make() for name, make in makers.items() if name in attributes]
    comparisons += [
        cl.ExactMatch(column).configure(m_probabilities=[0.99, 0.01])
        for column in identifiers(attributes)
    ]
    if not any(name in attributes for name in names) and len(comparisons) < 2:
        raise NoMatchEvidenceError(
            "person linkage needs at least two attributes shared by two or more record "
            f"sources; shared: {sorted(attributes) or 'none'}. Map given_name, family_name, "
            "date_of_birth or an identifier to its standard attribute in the contracts."
        )
    return comparisons


def blocking_rules(attributes: Collection[str]) -> list:
    """Blocking rules for the shared attributes, on disjoint attribute sets so that a pair
    with one corrupted field still meets under another rule.

    Each shared identifier blocks on its own; names block with the date of birth, with each
    postcode (UK postcode, postal code; as does the date of birth) and with each other (and
    the year, or the day and month, of birth); a postal code blocks with the house number
    (and the street's first letters), the house number with the street. Without a UK
    postcode to pair the names with, the first three letters of the family name with the
    year and month of birth catch pairs whose names both differ. Every rule is an equi-join
    on its attributes, so each
    stays selective as the population grows.
    """
    from splink import block_on

    shared = set(attributes)
    rules: list = [block_on(column) for column in identifiers(shared)]
    family = "family_name" in shared
    given = "given_name" in shared
    dob = "date_of_birth" in shared
    names = [
        c for c, present in (("family_name", family), ("given_name_canonical", given)) if present
    ]
    if dob:
        rules += [block_on(name, "date_of_birth") for name in names]
    for place in ("postcode", "postal_code"):
        if place in shared:
            rules += [block_on(name, place) for name in names]
            if dob:
                # Both names mistyped, or left out, at the same address.
                rules.append(block_on("date_of_birth", place))
    if family and given:
        if dob:
            rules += [
                block_on("family_name", "given_name_canonical", "year(date_of_birth)"),
                block_on(
                    "family_name",
                    "given_name_canonical",
                    "month(date_of_birth)",
                    "day(date_of_birth)",
                ),
                "l.family_name = r.family_name and l.given_name_canonical = "
                "r.given_name_canonical and (l.date_of_birth is null or r.date_of_birth is null)",
            ]
        else:
            rules.append(block_on("family_name", "given_name_canonical"))
    if {"postal_code", "house_number", "street"} <= shared:
        # A postal code covers a whole district abroad: with the house number alone it
        # blocks on thousands of pairs per code, so the street's first letters narrow it.
        rules.append(block_on("postal_code", "house_number", "substr(street, 1, 3)"))
    elif {"postal_code", "house_number"} <= shared:
        rules.append(block_on("postal_code", "house_number"))
    if "street" in shared and "house_number" in shared:
        rules.append(block_on("house_number", "street"))
    if family and dob and "postcode" not in shared:
        rules.append(
            block_on("substr(family_name, 1, 3)", "year(date_of_birth)", "month(date_of_birth)")
        )
    if not rules:
        raise NoMatchEvidenceError(
            "no blocking rule can be built: the record sources share no identifier, name or "
            f"date of birth (shared: {sorted(shared) or 'none'})"
        )
    return rules


def prior_rules(attributes: Collection[str]) -> tuple[list, float]:
    """Deterministic rules that estimate how often two random records match, and their
    assumed recall: the shared identifiers, else exact names, date of birth and a postcode.

    Raises:
        NoMatchEvidenceError: The shared attributes hold no such evidence.
    """
    from splink import block_on

    shared = identifiers(attributes)
    if shared:
        return [block_on(column) for column in shared], 0.5
    core = ("given_name", "family_name", "date_of_birth")
    places = [p for p in ("postcode", "postal_code") if p in attributes]
    if all(c in attributes for c in core) and places:
        return [block_on(*core, place) for place in places], 0.6
    missing = [c for c in core if c not in attributes] + ([] if places else ["postcode"])
    raise NoMatchEvidenceError(
        "cannot estimate how often two person records match: no identifier (NINO, NHS "
        "number, pupil number or a person.identifier scheme) is shared by two record sources, "
        "nor given name, family name, date of birth and a postcode or postal code together "
        f"(missing: {', '.join(missing)}). Map such columns to their standard attributes in "
        "the contracts of at least two datasets."
    )


def person_settings(attributes: Collection[str] = DEMO_ATTRIBUTES, threshold_years: int = 10):
    """The Splink model specification for person records (untrained).

    Args:
        attributes: Person-record columns shared by two or more sources; the comparisons
            and blocking rules are built from them.
        threshold_years: Widest difference in years of birth still scored above "else".

    Returns:
        A ``splink.SettingsCreator`` for deduplicating the prepared person records.
    """
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="person_record_id",
        comparisons=person_comparisons(attributes, threshold_years),
        blocking_rules_to_generate_predictions=blocking_rules(attributes),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
        max_iterations=20,
    )


def model_attributes(model: dict[str, Any]) -> set[str]:
    """The attributes a trained model compares (its comparisons' output columns)."""
    return {c["output_column_name"] for c in model["comparisons"]}


def linker(con: duckdb.DuckDBPyConnection, settings):
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    records = db_api.register("person_input")
    return Linker(records, settings, log_level=logging.WARNING)


def train_person_model(
    con: duckdb.DuckDBPyConnection,
    attributes: Collection[str] = DEMO_ATTRIBUTES,
    seed: int = 42,
) -> dict[str, Any]:
    """Trains the person model on ``person_input``: the prior from the strongest shared
    evidence, u by random sampling, m by EM.

    Args:
        con: The linkage connection holding ``person_input``.
        attributes: Person-record columns shared by two or more sources.
        seed: Seed of the random sampling, so training is reproducible.

    Returns:
        The trained model as a Splink settings dictionary (JSON-serialisable).

    Raises:
        NoMatchEvidenceError: No shared attribute gives evidence of matches, or the
            evidence finds no matching pair.
    """
    from splink import block_on

    rules, recall = prior_rules(attributes)
    trainer = linker(con, person_settings(attributes))
    if _count_pairs(con, rules) == 0:
        raise NoMatchEvidenceError(
            "cannot estimate how often two person records match: no two records agree on "
            + " or ".join(r.get_blocking_rule("duckdb").blocking_rule_sql for r in rules)
            + ". Check that these attributes are cleaned alike in every source."
        )
    trainer.training.estimate_probability_two_random_records_match(rules, recall=recall)
    trainer.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    sessions = {}
    if "date_of_birth" in attributes:
        sessions["date_of_birth"] = block_on("date_of_birth")
    if {"family_name", "given_name"} <= set(attributes):
        sessions["family_name, given_name_canonical"] = block_on(
            "family_name", "given_name_canonical"
        )
    if len(sessions) < 2:
        sessions.update({column: block_on(column) for column in identifiers(attributes)})
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


def _count_pairs(con: duckdb.DuckDBPyConnection, rules: list) -> int:
    """Record pairs of ``person_input`` meeting any of ``rules`` (exact count)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    counts = count_comparisons_from_blocking_rules(
        DuckDBAPI(connection=con).register("person_input"),
        blocking_rules=rules,
        link_type="dedupe_only",
        unique_id_column_name="person_record_id",
        record_sample_proportion=1.0,
    )
    return int(counts[-1]["cumulative_comparison_count"])


def comparison_counts(
    con: duckdb.DuckDBPyConnection, model: dict[str, Any], sample: float = 1.0
) -> list[tuple[str, int]]:
    """Pairs each of a model's blocking rules adds to those before it, on ``person_input``.

    Args:
        con: The linkage connection holding ``person_input``.
        model: A (trained) Splink settings dictionary.
        sample: Share of records sampled on each side to estimate the counts (1 is exact).

    Returns:
        ``(blocking rule SQL, marginal pairs)`` per rule, in the model's order.
    """
    import warnings

    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    records = DuckDBAPI(connection=con).register("person_input")
    rules = [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]]
    with warnings.catch_warnings():
        # Sampled estimates on small populations warn that they are unstable; the counts
        # are recorded as an estimate of cost, not relied upon.
        warnings.simplefilter("ignore", UserWarning)
        counts = count_comparisons_from_blocking_rules(
            records,
            blocking_rules=rules,
            link_type="dedupe_only",
            unique_id_column_name="person_record_id",
            record_sample_proportion=sample,
        )
    return [
        (rule, int(c["marginal_comparison_count"])) for rule, c in zip(rules, counts, strict=True)
    ]


def save_model(model: dict[str, Any], models_dir: Path) -> Path:
    """Writes a trained model as ``<spec version>-<UTC timestamp>.json`` and returns its path."""
    models_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = models_dir / f"{MODEL_SPEC_VERSION}-{stamp}.json"
    write_atomically(path, json.dumps(model, indent=2, sort_keys=True))
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
