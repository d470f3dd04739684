"""The pseudonymisation key is written to no file: not the dbt target folder (compiled SQL,
manifests, run results, partial parse, logs), not the data directory (warehouse, published
snapshot, extracts) and not the Dagster instance (event log, compute logs)."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest


def _files_holding(roots: list[Path], needles: list[bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                content = path.read_bytes()
                found += [f"{path} holds {n[:12]!r}..." for n in needles if n in content]
    return found


@pytest.mark.slow
def test_a_production_run_writes_the_key_to_no_file(tmp_path, monkeypatch):
    from orchestration.generator import generate_population
    from orchestration.runner import run_everything

    # 64 hex characters, as production requires of a key, and found nowhere by chance.
    key = uuid.uuid4().hex + uuid.uuid4().hex
    data_dir, target_dir, dagster_home = (tmp_path / n for n in ("data", "target", "dagster"))
    data_dir.mkdir()
    monkeypatch.setenv("COMMONGROUND_ENV", "production")
    monkeypatch.setenv("COMMONGROUND_PSEUDONYM_KEY", key)
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COMMONGROUND_DBT_TARGET_DIR", str(target_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    generate_population(data_dir, citizens=500, seed=11, messiness=1.0)
    run_everything()

    # The run really went through dbt's pseudonymising staging models and Dagster.
    assert list(target_dir.rglob("run_results.json"))
    assert list(target_dir.rglob("partial_parse.msgpack"))
    assert any(p.is_file() for p in dagster_home.rglob("*"))
    needles = [
        key.encode(),
        key.encode().hex().encode(),
        base64.b64encode(key.encode()),
        key.upper().encode(),
    ]
    assert not _files_holding([target_dir, data_dir, dagster_home], needles)
