"""The dbt manifest is parsed again exactly when what dbt parses has changed."""

from __future__ import annotations

import shutil

import pytest

from orchestration import project as project_paths
from orchestration.project import dbt_project, ensure_manifest, parse_inputs_digest

pytestmark = pytest.mark.xdist_group("dbt_project")


def test_an_unchanged_project_is_not_parsed_again(data_dir, monkeypatch):
    ensure_manifest()
    manifest = dbt_project().manifest_path
    parsed = manifest.stat().st_mtime_ns
    ensure_manifest()
    assert manifest.stat().st_mtime_ns == parsed
    # The profile reads the environment: a change to it parses again.
    monkeypatch.setenv("COMMONGROUND_DUCKDB_MEMORY_LIMIT", "3GB")
    ensure_manifest()
    assert manifest.stat().st_mtime_ns > parsed


def test_any_edit_under_the_dbt_project_changes_the_parse_inputs(tmp_path, monkeypatch):
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        project_paths.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs")
    )
    monkeypatch.setattr(project_paths, "DBT_PROJECT_DIR", copy)
    before = parse_inputs_digest()
    assert parse_inputs_digest() == before
    model = next((copy / "models").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    assert parse_inputs_digest() != before
    # What dbt writes (its target and logs folders) is not an input.
    edited = parse_inputs_digest()
    (copy / "target").mkdir()
    (copy / "target" / "manifest.json").write_text("{}")
    (copy / "logs").mkdir()
    (copy / "logs" / "dbt.log").write_text("parsed")
    assert parse_inputs_digest() == edited
