"""Shared fixtures: a temporary data directory per test and the repository's contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.contracts import load_contracts
from orchestration.project import CONTRACTS_DIR

pytest_plugins = ["services"]  # tests/services.py: real PostgreSQL and Dagster processes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reads the materialized demo warehouse is end to end: marked ``slow``,
    so ``make test-fast`` leaves it out (``make test`` runs it)."""
    for item in items:
        if "demo_warehouse" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def dbt_target_dir(tmp_path_factory: pytest.TempPathFactory):
    """A dbt target folder of this test process's own, so parallel runs never share one."""
    target = tmp_path_factory.mktemp("dbt_target")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("COMMONGROUND_DBT_TARGET_DIR", str(target))
    yield target
    patcher.undo()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Common Ground data directory, set as COMMONGROUND_DATA_DIR."""
    directory = tmp_path / "data"
    directory.mkdir()
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(directory))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return directory


@pytest.fixture(scope="session")
def contracts():
    """Every contract in the repository, by raw table name."""
    return {c.raw_table: c for c in load_contracts(CONTRACTS_DIR)}


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """A messy 3,000-citizen population generated and materialized once per test process.

    Read-only for the tests that use it: they inspect the warehouse, the ingestion log and
    the run summary, and must not write. Yields ``(data_dir, run_summary)``.
    """
    from orchestration.generator import generate_population
    from orchestration.runner import run_everything

    directory = tmp_path_factory.mktemp("demo") / "data"
    directory.mkdir()
    patcher = pytest.MonkeyPatch()
    patcher.setenv("COMMONGROUND_DATA_DIR", str(directory))
    patcher.delenv("DAGSTER_HOME", raising=False)
    try:
        generate_population(directory, citizens=3_000, seed=5, messiness=1.0)
        summary = run_everything()
    finally:
        patcher.undo()
    return directory, summary
