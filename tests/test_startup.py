"""Loading the code location does only what it must: no Great Expectations or Splink import,
the hand-written suites' checks from their outlines, the dbt manifest parsed once."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

from orchestration.project import SUITES_DIR, ensure_manifest, read_manifest
from orchestration.quality import load_suites, suite_outlines
from orchestration.quality import outlines as outlines_module
from orchestration.settings import get_settings

pytestmark = pytest.mark.xdist_group("dbt_project")

LOAD = """
import sys
from orchestration.definitions import defs
graph = defs().resolve_asset_graph()
heavy = [m for m in ("great_expectations", "splink", "scipy") if m in sys.modules]
print(len(graph.get_all_asset_keys()), heavy)
"""


def test_the_code_location_loads_without_great_expectations_or_splink(data_dir, tmp_path):
    ensure_manifest()
    # A first load files the suites' outlines (here from a copy of the suites, so that this
    # process's memory of them cannot stand in for the file); later loads read them.
    suite_outlines(shutil.copytree(SUITES_DIR, tmp_path / "suites"))
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD],
        env={**os.environ, "COMMONGROUND_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    assets, heavy = loaded.stdout.split(maxsplit=1)
    assert int(assets) > 50
    assert heavy.strip() == "[]"


def _outline(source) -> tuple:
    from orchestration.quality.outlines import outline_of

    outline = outline_of(source)
    return outline.dataset, outline.checks, outline.targets


def test_the_outlines_hold_what_building_the_suites_gives():
    outlined = [(o.dataset, o.checks, o.targets) for o in suite_outlines()]
    assert outlined == [_outline(s) for s in load_suites()]
    assert all(o.load().suite.expectations for o in suite_outlines())


def test_an_edited_suite_is_outlined_again(tmp_path):
    suites = shutil.copytree(SUITES_DIR, tmp_path / "suites")
    before = {o.dataset: o.checks for o in suite_outlines(suites)}
    income = suites / "conformed__income.py"
    income.write_text(income.read_text().replace('"gross_pay_recorded"', '"gross_pay_given"'))
    after = {o.dataset: o.checks for o in suite_outlines(suites)}
    assert [c[0] for c in after["conformed.income"]] == [
        "gross_pay_given" if c[0] == "gross_pay_recorded" else c[0]
        for c in before["conformed.income"]
    ]


def test_a_damaged_outline_file_is_rebuilt_with_a_warning(tmp_path, caplog):
    # Each folder below holds the same suites: like a new process, it reads the outlines
    # from the file instead of this process's memory.
    first = shutil.copytree(SUITES_DIR, tmp_path / "first")
    expected = [(o.dataset, o.checks, o.targets) for o in suite_outlines(first)]
    cache = get_settings().dbt_target_dir / outlines_module.CACHE_NAME
    income = hashlib.sha256((SUITES_DIR / "conformed__income.py").read_bytes()).hexdigest()
    stored = json.loads(cache.read_text())
    stored["suites"][income]["checks"] = [["only", "a", "name"]]
    cache.write_text(json.dumps(stored))
    suites = shutil.copytree(SUITES_DIR, tmp_path / "suites")
    with caplog.at_level(logging.WARNING):
        rebuilt = [(o.dataset, o.checks, o.targets) for o in suite_outlines(suites)]
    assert rebuilt == expected
    assert any("conformed__income.py" in r.getMessage() for r in caplog.records)
    assert json.loads(cache.read_text())["suites"][income]["checks"] != [["only", "a", "name"]]

    cache.write_text("{ not json")
    again = shutil.copytree(SUITES_DIR, tmp_path / "again")
    with caplog.at_level(logging.WARNING):
        assert [(o.dataset, o.checks, o.targets) for o in suite_outlines(again)] == expected
    assert any(str(cache) in r.getMessage() for r in caplog.records)


def test_the_manifest_is_read_once_per_process_and_again_when_rewritten(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {"model.a": {}}}))
    first = read_manifest(manifest)
    assert read_manifest(manifest) is first
    manifest.write_text(json.dumps({"nodes": {"model.b": {}}}))
    assert list(read_manifest(manifest)["nodes"]) == ["model.b"]
