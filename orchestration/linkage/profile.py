"""The profile of the person records a model was trained on, and when they have moved on.

A trained model's m and u probabilities describe the records it was trained on. As
deliveries add records they stay good while the records look alike; they are retrained
when the records have *shifted*: the number of records has grown or shrunk by more than
:data:`RECORDS_SHIFT` of the trained number, or the share of records holding one of the
compared attributes has moved by more than :data:`COMPLETENESS_SHIFT` (e.g. a new source
without dates of birth). The profile is stored beside the model file
(``profiles/<model file name>``, out of the way of the model files themselves).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from orchestration.sql import quote_identifier
from orchestration.state import read_json_state, write_atomically

RECORDS_SHIFT = 0.5
"""Relative change in the number of person records beyond which the model is retrained."""

COMPLETENESS_SHIFT = 0.10
"""Change in the share of records holding a compared attribute (absolute, 0 to 1) beyond
which the model is retrained."""


def records_profile(con: duckdb.DuckDBPyConnection, attributes: set[str]) -> dict[str, Any]:
    """The number of linked records in ``person_source`` (consent exclusions left out) and
    the share of them holding each of ``attributes``."""
    names = sorted(attributes)
    shares = "".join(
        f", avg(case when {quote_identifier(a)} is null then 0 else 1 end)" for a in names
    )
    row = con.execute(f"select count(*){shares} from person_source where not _excluded").fetchall()[
        0
    ]
    return {
        "records": int(row[0]),
        "completeness": {a: round(float(v or 0.0), 6) for a, v in zip(names, row[1:], strict=True)},
    }


def profile_path(model_path: Path) -> Path:
    """Where the profile of the model stored at ``model_path`` is kept."""
    return model_path.parent / "profiles" / model_path.name


def save_profile(model_path: Path, profile: dict[str, Any]) -> None:
    """Stores the profile of the records the model at ``model_path`` was trained on."""
    write_atomically(profile_path(model_path), json.dumps(profile, indent=2, sort_keys=True))


def load_profile(model_path: Path) -> dict[str, Any]:
    """The stored training profile of a model (empty when none was stored)."""
    return read_json_state(profile_path(model_path))


def shift(trained: dict[str, Any], now: dict[str, Any]) -> str | None:
    """Why the records have moved on from those the model was trained on, or None.

    A model stored without a profile (trained before profiles were kept) has not shifted:
    it is kept until retrained on request.
    """
    if not trained:
        return None
    before, after = trained.get("records") or 0, now["records"]
    if before and abs(after - before) > RECORDS_SHIFT * before:
        return (
            f"the person records went from {before:,} to {after:,} (more than "
            f"{RECORDS_SHIFT:.0%} change)"
        )
    old = trained.get("completeness") or {}
    for attribute, share in sorted(now["completeness"].items()):
        if attribute in old and abs(share - old[attribute]) > COMPLETENESS_SHIFT:
            return (
                f"the share of records holding {attribute} went from {old[attribute]:.1%} "
                f"to {share:.1%} (more than {COMPLETENESS_SHIFT * 100:.0f} points)"
            )
    return None
