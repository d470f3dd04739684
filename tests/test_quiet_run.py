"""A headless run shows a progress bar per stage; dbt's log goes to a file, shown on failure."""

from __future__ import annotations

import pytest

from orchestration.cli import run_command
from orchestration.generator import generate_population

pytestmark = pytest.mark.xdist_group("dbt_project")


@pytest.mark.slow
def test_a_run_prints_stages_not_dbt_lines(data_dir, capsys):
    generate_population(data_dir, citizens=300, seed=5, messiness=1.0)
    run_command(["run"])
    out = capsys.readouterr().out
    # A failed run ends with the last lines of its log, dbt's included: not the point here.
    out = out.split("Last lines of the run log")[0]
    for stage in ("Ingest", "Transform (dbt)", "Linkage", "Quality", "Governance"):
        assert stage in out
    assert "START sql table model" not in out
    assert "Running with dbt" not in out
    log = (data_dir / "logs" / "pipeline.log").read_text()
    assert "START sql table model" in log and "Running with dbt" in log
    assert f"Run log (dbt, Dagster): {data_dir / 'logs' / 'pipeline.log'}" in out
    assert len(out.splitlines()) < 150


def test_a_failed_run_shows_the_end_of_its_log(data_dir, capsys):
    (data_dir / "warehouse.duckdb").write_bytes(b"not a database" * 50)
    assert run_command(["run"]) == 1
    out = capsys.readouterr().out
    assert "Last lines of the run log" in out
    head, tail = out.split("Last lines of the run log")
    assert "not a valid DuckDB database" in head  # the failed steps, one line each
    assert "duckdb.connect" in tail  # then where it failed, from the run log
    assert "Ingest" in head and "failed" in head
