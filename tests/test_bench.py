"""Benchmark smoke run at a tiny size: every stage runs, is timed and has its floor."""

from __future__ import annotations

import pytest

from orchestration.bench.runner import markdown_table, run_benchmark

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt_project")]


def test_benchmark_smoke_run_measures_every_stage_against_its_floor(tmp_path):
    # Small, but big enough for the linkage's blocking quality checks to hold.
    results = run_benchmark([1_500], tmp_path / "bench", memory_limited=False, demo=False)
    by_stage = {r.stage: r for r in results}
    expected = {
        "code location load",
        "generate",
        "ingest",
        "ingest per file, clean",
        "ingest per file, 1% bad rows",
        "dbt build",
        "validation (GX)",
        "linkage (train + link)",
        "governance",
        "publish",
        "end-to-end",
        "no-change re-run",
        "re-run after 1% new deliveries",
    }
    assert expected <= set(by_stage), set(by_stage)
    for stage in (
        "ingest",
        "ingest per file, clean",
        "ingest per file, 1% bad rows",
        "dbt build",
        "validation (GX)",
        "end-to-end",
    ):
        r = by_stage[stage]
        assert r.seconds > 0 and r.floor_seconds and r.floor_seconds > 0, stage
        assert r.ratio and r.ratio > 0, stage
        assert r.rows > 0 and r.peak_rss_mb > 0, stage
    assert by_stage["re-run after 1% new deliveries"].rows > 0
    clean, bad = by_stage["ingest per file, clean"], by_stage["ingest per file, 1% bad rows"]
    assert clean.detail["rows_quarantined"] < bad.detail["rows_quarantined"]
    # 1% of the CSV, NDJSON and Parquet rows break a type rule, and each is quarantined.
    assert bad.detail["rows_quarantined"] >= 0.008 * sum(
        t["rows"] for t in bad.detail["datasets"] if not t["dataset"].startswith("council")
    )
    # Nothing new was delivered between the two runs, so nothing is rebuilt.
    assert "nothing rebuilt" in by_stage["no-change re-run"].note
    assert by_stage["no-change re-run"].seconds < by_stage["end-to-end"].seconds
    table = markdown_table(results)
    assert "| ingest | 1,500 |" in table
