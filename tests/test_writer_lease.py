"""One writer at a time: the warehouse lease, transient-fault retries and the CLI's wait."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import dagster as dg
import duckdb
import pytest

from orchestration.cli import run_command
from orchestration.defs.resources import WarehouseResource, retry_transient
from orchestration.lease import WarehouseBusyError, holds_lease, read_holder, warehouse_lease


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr("orchestration.defs.resources.TRANSIENT_FIRST_WAIT_SECONDS", 0.01)
    return tmp_path


def _hold_in_another_process(data_dir, seconds: float, run_id: str = "other-run"):
    """A process that holds the lease for ``seconds``; returns once it holds it."""
    code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from orchestration.lease import warehouse_lease
        with warehouse_lease(Path({str(data_dir)!r}), wait_seconds=0, run_id={run_id!r},
                             purpose="a test holder"):
            print("held", flush=True)
            time.sleep({seconds})
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_waits_for_the_first_then_proceeds(data_dir):
    holder = _hold_in_another_process(data_dir, 2.0)
    told = []
    started = time.monotonic()
    try:
        with warehouse_lease(data_dir, wait_seconds=60, on_wait=told.append):
            waited = time.monotonic() - started
            assert holds_lease(data_dir)
    finally:
        holder.wait(timeout=30)
    assert waited >= 1.0
    assert len(told) == 1 and told[0].run_id == "other-run"
    assert told[0].purpose == "a test holder"
    assert not holds_lease(data_dir)


def test_a_writer_gives_up_after_its_wait_naming_the_holder(data_dir):
    holder = _hold_in_another_process(data_dir, 30.0, run_id="run-1234")
    try:
        with (
            pytest.raises(WarehouseBusyError, match=r"run run-1234 .*waited 0.5s"),
            warehouse_lease(data_dir, wait_seconds=0.5),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_crashed_holder_never_leaves_the_warehouse_locked(data_dir):
    holder = _hold_in_another_process(data_dir, 300.0)
    holder.kill()
    holder.wait()
    with warehouse_lease(data_dir, wait_seconds=5):
        assert holds_lease(data_dir)
    assert read_holder(data_dir / "state" / "warehouse.lock") is None


def test_the_lease_is_reentrant_in_one_process(data_dir):
    with warehouse_lease(data_dir, wait_seconds=0):
        with warehouse_lease(data_dir, wait_seconds=0):
            assert holds_lease(data_dir)
        assert holds_lease(data_dir)
    assert not holds_lease(data_dir)


def test_a_dagster_run_holds_the_lease_for_all_its_steps(data_dir):
    seen = []

    @dg.asset
    def first(warehouse: WarehouseResource):
        seen.append(holds_lease(data_dir))

    @dg.asset(deps=[first])
    def second(warehouse: WarehouseResource):
        seen.append(holds_lease(data_dir))

    resource = WarehouseResource(database=str(data_dir / "warehouse.duckdb"))
    assert dg.materialize([first, second], resources={"warehouse": resource}).success
    assert seen == [True, True]
    assert not holds_lease(data_dir)


def test_a_dagster_run_waits_for_another_writer(data_dir):
    holder = _hold_in_another_process(data_dir, 2.0)

    @dg.asset
    def write(warehouse: WarehouseResource):
        with warehouse.get_connection() as con:
            con.execute("create table t as select 1 as x")

    resource = WarehouseResource(database=str(data_dir / "warehouse.duckdb"))
    started = time.monotonic()
    try:
        assert dg.materialize([write], resources={"warehouse": resource}).success
    finally:
        holder.wait(timeout=30)
    assert time.monotonic() - started >= 1.0


def _failing_asset(errors: list[Exception]):
    attempts = []

    @dg.asset
    @retry_transient
    def flaky(context: dg.AssetExecutionContext):
        attempts.append(context.retry_number)
        if errors:
            raise errors.pop(0)

    return flaky, attempts


def test_a_transient_fault_is_retried_until_it_clears(data_dir):
    lock = duckdb.IOException('Could not set lock on file "/w.duckdb": Conflicting lock is held')
    flaky, attempts = _failing_asset([lock, OSError(5, "Input/output error")])
    assert dg.materialize([flaky]).success
    assert attempts == [0, 1, 2]


def test_a_lasting_transient_fault_fails_after_three_retries(data_dir):
    lock = duckdb.IOException('Could not set lock on file "/w.duckdb": Conflicting lock is held')
    flaky, attempts = _failing_asset([lock] * 10)
    assert not dg.materialize([flaky], raise_on_error=False).success
    assert attempts == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "error",
    [
        ValueError("row 12, field nino: not a valid National Insurance number"),
        OSError(28, "No space left on device"),
        duckdb.ConversionException("Could not convert string 'x' to INT32"),
    ],
    ids=["data", "disk full", "conversion"],
)
def test_data_failures_and_lasting_faults_are_never_retried(data_dir, error):
    flaky, attempts = _failing_asset([error])
    assert not dg.materialize([flaky], raise_on_error=False).success
    assert attempts == [0]


def test_a_failed_blocking_check_is_not_retried(data_dir):
    runs = []

    @dg.asset(check_specs=[dg.AssetCheckSpec("must_hold", asset="checked", blocking=True)])
    @retry_transient
    def checked():
        runs.append(1)
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="must_hold", passed=False)

    result = dg.materialize([checked], raise_on_error=False)
    assert not result.success
    assert runs == [1]


def test_commonground_run_waits_then_exits_with_one_line(data_dir, capsys):
    holder = _hold_in_another_process(data_dir, 60.0, run_id="abc-123")
    try:
        started = time.monotonic()
        code = run_command(["run", "--wait", "1"])
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    assert "Waiting for the warehouse" in captured.out and "run abc-123" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, captured.err
    assert "run abc-123" in errors[0] and "waited 1s" in errors[0]
    assert 1.0 <= waited < 30
