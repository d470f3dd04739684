"""Shared fixtures: a temporary data directory per test and the repository's contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.lib.contracts import load_contracts
from orchestration.project import CONTRACTS_DIR


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
