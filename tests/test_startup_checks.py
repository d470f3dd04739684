"""A run that delivers nothing new for a dataset does not judge its latest batch again: the
raw checks report the earlier run's outcome (and say so), without Great Expectations."""

import dataclasses
import json
import logging
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.quality import checks
from orchestration.ingest import ingest_dataset
from orchestration.quality import GreatExpectationsResource, gx_bridge, reuse

HEADER = (
    "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
    "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED"
)
ROW = "{id},{nino},JOHN,SMITH,01/02/1980,LS1 4AB,123/AB45678,2025-26,06/04/2025,05/04/2026,£9,£1"


@pytest.fixture
def judged(monkeypatch) -> dict[str, int]:
    """How many times each kind of raw check judged a batch (GX suites, format drift)."""
    counts = {"suite": 0, "drift": 0}
    validate, drift = gx_bridge.validate, checks.format_drift

    def counting_validate(**kwargs):
        counts["suite"] += 1
        return validate(**kwargs)

    def counting_drift(con, contract):
        counts["drift"] += 1
        return drift(con, contract)

    monkeypatch.setattr(gx_bridge, "validate", counting_validate)
    monkeypatch.setattr(checks, "format_drift", counting_drift)
    return counts


def _deliver(tmp_path: Path, name: str, ninos: list[str]) -> None:
    folder = tmp_path / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [ROW.format(id=f"{name}-{i}", nino=n) for i, n in enumerate(ninos)]
    (folder / name).write_text("\n".join([HEADER, *rows]) + "\n")


def _run(tmp_path: Path, contract):
    """One Dagster run of the dataset's ingest asset with its contract and drift checks;
    returns the run's id and its check evaluations by name."""
    database = str(tmp_path / "warehouse.duckdb")

    @dg.asset(key=["raw", contract.raw_table])
    def raw(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as con:
            ingest_dataset(con, contract, tmp_path / "landing", context.run.run_id)

    result = dg.materialize(
        [
            raw,
            checks.build_suite_checks("raw_quality_checks", checks.contract_assets([contract])),
            checks.build_drift_checks([contract]),
        ],
        resources={
            "warehouse": DuckDBResource(database=database),
            "great_expectations": GreatExpectationsResource(
                database=database, docs_dir=str(tmp_path / "docs"), store_dir=str(tmp_path / "gx")
            ),
        },
        raise_on_error=False,
    )
    return result.run_id, {e.check_name: e for e in result.get_asset_check_evaluations()}


def _outcomes(evaluations) -> dict[str, tuple]:
    return {
        name: (e.passed, e.severity.value, e.metadata.get("unexpected_percent"))
        for name, e in evaluations.items()
    }


def _results_of(tmp_path: Path, run_id: str) -> list[str]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select check_name from governance.quality_results where run_id = ? order by 1",
            [run_id],
        ).fetchall()
    return [r[0] for r in rows]


def test_an_unchanged_batch_reports_the_earlier_outcome_and_a_new_one_is_judged(
    tmp_path, contracts, judged
):
    paye = contracts["hmrc__paye_income"]
    _deliver(tmp_path, "a.csv", ["AB123456C", "DB123456C"])  # one malformed NINO: a WARN
    first_run, first = _run(tmp_path, paye)
    assert judged == {"suite": 1, "drift": 1}
    assert first["nino_format"].passed is False and first["delivery_not_empty"].passed
    assert "reused_from_run" not in first["nino_format"].metadata

    second_run, second = _run(tmp_path, paye)
    assert judged == {"suite": 1, "drift": 1}  # nothing judged again
    assert _outcomes(second) == _outcomes(first)  # the failing WARN still fails, visibly
    assert {e.metadata["reused_from_run"].value for e in second.values()} == {first_run}
    assert "unchanged since run" in second["format_drift"].metadata["validated"].value
    assert _results_of(tmp_path, second_run) == []  # the history records validations only

    _deliver(tmp_path, "b.csv", ["AB123456C", "CE654321A"])
    _, third = _run(tmp_path, paye)
    assert judged == {"suite": 2, "drift": 2}
    assert third["nino_format"].passed
    assert not any("reused_from_run" in e.metadata for e in third.values())


def test_a_changed_contract_judges_the_same_batch_again(tmp_path, contracts, judged):
    paye = contracts["hmrc__paye_income"]
    _deliver(tmp_path, "a.csv", ["AB123456C"])
    _run(tmp_path, paye)
    changed = dataclasses.replace(paye, document={**paye.document, "version": "9.9.9"})
    _, again = _run(tmp_path, changed)
    assert judged == {"suite": 2, "drift": 2}
    assert not any("reused_from_run" in e.metadata for e in again.values())


def test_earlier_results_missing_from_the_warehouse_are_judged_again(tmp_path, contracts, judged):
    paye = contracts["hmrc__paye_income"]
    _deliver(tmp_path, "a.csv", ["AB123456C"])
    first_run, _ = _run(tmp_path, paye)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("delete from governance.quality_results where run_id = ?", [first_run])
    second_run, _ = _run(tmp_path, paye)
    assert judged == {"suite": 2, "drift": 2}
    assert "nino_format" in _results_of(tmp_path, second_run)


def test_a_damaged_state_file_is_ignored_with_a_warning(tmp_path, contracts, judged, caplog):
    paye = contracts["hmrc__paye_income"]
    _deliver(tmp_path, "a.csv", ["AB123456C"])
    _run(tmp_path, paye)
    state = tmp_path / "state" / reuse.STATE_FILE
    state.write_text('{"raw_quality_checks": {"raw.hmrc__paye_income": {"key": ')
    with caplog.at_level(logging.WARNING):
        _run(tmp_path, paye)
    assert judged == {"suite": 2, "drift": 2}
    assert any(str(state) in r.getMessage() for r in caplog.records)
    recorded = json.loads(state.read_text())
    assert set(recorded) == {"raw_quality_checks", "format_drift_checks"}


def test_a_second_intake_reads_no_landing_file_and_judges_no_batch_again(
    data_dir, monkeypatch, judged
):
    """The intake part of ``commonground run`` (ingest assets, logs and their checks) in the
    code location, twice with nothing delivered in between."""
    from orchestration import state
    from orchestration.definitions import defs as load_defs
    from orchestration.generator import generate_population
    from orchestration.ingest import landing
    from orchestration.runner import JOB_NAME, intake_keys

    generate_population(data_dir, citizens=300, seed=3, messiness=1.0)
    monkeypatch.setattr(state, "RACY_NANOSECONDS", 0)  # delivered before the runs
    definitions = load_defs()
    job = definitions.resolve_job_def(JOB_NAME)
    keys = intake_keys(definitions.resolve_asset_graph())

    def intake():
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, asset_selection=keys)
        return {
            (e.asset_key.to_user_string(), e.check_name): e
            for e in result.get_asset_check_evaluations()
        }

    first = intake()
    assert judged["suite"] == 7 and judged["drift"] >= 1
    before = dict(judged)
    hashed: list[str] = []
    real = landing.file_sha256
    monkeypatch.setattr(landing, "file_sha256", lambda p: hashed.append(p.name) or real(p))

    second = intake()
    assert hashed == []
    assert judged == before
    assert {k: (e.passed, e.severity) for k, e in second.items()} == {
        k: (e.passed, e.severity) for k, e in first.items()
    }
    raw_checks = [e for (asset, _), e in second.items() if asset.startswith("raw/")]
    clock = {"delivered_within_sla", "freshness_check"}  # they read the time: judged again
    reused = [e for e in raw_checks if "reused_from_run" in e.metadata]
    assert reused
    assert {e.check_name for e in raw_checks if e not in reused} <= clock
