"""Paths of the repository's parts and the dbt project handle."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CONTRACTS_DIR = REPO_ROOT / "expectations" / "contracts"
SUITES_DIR = REPO_ROOT / "expectations" / "suites"
AGREEMENTS_DIR = REPO_ROOT / "expectations" / "agreements"


def dbt_project():
    """The dbt project as Dagster sees it (built on demand, never at import).

    Its target folder (manifest, compiled SQL) is ``dbt_project/target`` unless
    ``COMMONGROUND_DBT_TARGET_DIR`` names another, so that test runs never share one.
    """
    from dagster_dbt import DbtProject

    from orchestration.settings import get_settings

    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=get_settings().dbt_target_dir,
    )


def dbt_executable() -> str:
    """The dbt executable installed beside the running Python (works without an activated venv)."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
