"""Runtime settings: the one place that reads the environment, lazily.

Nothing here runs at import time. Call :func:`get_settings` when a value is needed; the
result reflects the environment at that moment (tests point ``COMMONGROUND_DATA_DIR`` at a
temporary directory before materializing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


DEFAULT_DATA_DIR = REPO_ROOT / "data"


@dataclass(frozen=True)
class Settings:
    """Where Common Ground keeps its working data, and how it runs.

    Attributes:
        data_dir: Root of the working data (landing zone, warehouse, published snapshot).
        environment: ``development`` or ``production``.
        duckdb_memory_limit: DuckDB ``memory_limit`` for the pipeline's connections.
        dbt_target_dir: dbt's target folder (manifest and compiled SQL).
    """

    data_dir: Path
    environment: str
    duckdb_memory_limit: str
    dbt_target_dir: Path

    @property
    def landing_dir(self) -> Path:
        """Files exactly as departments delivered them: ``landing/<department>/<dataset>/``."""
        return self.data_dir / "landing"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse the pipeline writes (one writer process at a time)."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        """Read-only snapshots that analysts query."""
        return self.data_dir / "published"

    @property
    def docs_dir(self) -> Path:
        """Generated documentation (quality Data Docs, catalogue)."""
        return self.data_dir / "docs"

    @property
    def ground_truth_dir(self) -> Path:
        """The sample generator's ground truth, kept outside the landing zone."""
        return self.data_dir / "ground_truth"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads."""
        return {
            "COMMONGROUND_WAREHOUSE": str(self.warehouse_path),
            "COMMONGROUND_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
        }


def get_settings() -> Settings:
    """Reads the settings from the environment now.

    Environment variables:
        COMMONGROUND_DATA_DIR: data directory (default ``./data`` in the repository).
        COMMONGROUND_ENV: ``development`` (default) or ``production``.
        COMMONGROUND_DUCKDB_MEMORY_LIMIT: DuckDB memory limit (default ``8GB``).
        COMMONGROUND_DBT_TARGET_DIR: dbt target folder (default ``dbt_project/target``).
    """
    data_dir = Path(os.environ.get("COMMONGROUND_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    environment = os.environ.get("COMMONGROUND_ENV", "development").strip().lower()
    if environment not in {"development", "production"}:
        raise ValueError(
            f"COMMONGROUND_ENV must be 'development' or 'production', not {environment!r}"
        )
    return Settings(
        data_dir=data_dir,
        environment=environment,
        duckdb_memory_limit=os.environ.get("COMMONGROUND_DUCKDB_MEMORY_LIMIT", "8GB"),
        dbt_target_dir=Path(
            os.environ.get("COMMONGROUND_DBT_TARGET_DIR") or REPO_ROOT / "dbt_project" / "target"
        ).resolve(),
    )
