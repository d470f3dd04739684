"""The Common Ground Dagster code location: everything under ``orchestration/defs``."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Loads every definition under ``orchestration/defs`` (no hand-kept list)."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
