"""The GX bridge on a real DuckDB file: results, the duckdb-engine defect, GX's own errors."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pytest

from orchestration.defs.quality.checks import check_result
from orchestration.quality import (
    BufferedSqlAlchemyExecutionEngine,
    ExpectQueryValueToMeetThreshold,
    ExpectRowsToSatisfyCondition,
    GXBridgeError,
    GXWorkspace,
    check_specs,
    expectation_meta,
    outcome_from_result,
    validate,
)

ROWS = 20_000


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A DuckDB file with 20,000 rows: every 10th value missing, every 100th out of set."""
    path = tmp_path_factory.mktemp("gx") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema s")
        con.execute(
            f"""
            create table s.t as
            select
                i as id,
                case when i % 10 = 0 then null else 'x' || i end as v,
                case when i % 100 = 0 then 'Z' else 'A' end as code
            from range({ROWS}) as r(i)
            """
        )
    return path


def _run(warehouse: Path, *expectations, workspace: GXWorkspace | None = None):
    suite = gx.ExpectationSuite(name="s.t", expectations=list(expectations))
    return validate(
        database=warehouse,
        connection_config={"memory_limit": "1GB"},
        dataset="s.t",
        relation_sql="select * from s.t",
        suite=suite,
        run_name="test-run",
        workspace=workspace,
    )


def test_native_expectations_return_real_counts_through_duckdb_engine(warehouse):
    # Without the buffered engine, duckdb-engine loses every result: each expectation comes
    # back failed, empty, with "list index out of range". These counts cannot come back then.
    not_null, in_set, unique, rows = _run(
        warehouse,
        gxe.ExpectColumnValuesToNotBeNull(
            column="v", mostly=0.95, meta=expectation_meta("v_present", "completeness", "ERROR")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="code", value_set=["A"], meta=expectation_meta("code_known", "validity", "WARN")
        ),
        gxe.ExpectColumnValuesToBeUnique(
            column="id", meta=expectation_meta("id_unique", "uniqueness", "ERROR")
        ),
        gxe.ExpectTableRowCountToBeBetween(
            min_value=1, meta=expectation_meta("not_empty", "completeness", "ERROR")
        ),
    )
    assert [o.error for o in (not_null, in_set, unique, rows)] == [None] * 4
    assert (not_null.success, not_null.element_count, not_null.unexpected_count) == (
        False,
        ROWS,
        ROWS // 10,
    )
    assert not_null.unexpected_percent == pytest.approx(10.0)
    assert not_null.dimension == "completeness" and not_null.severity == "ERROR"
    assert (in_set.success, in_set.unexpected_count) == (False, ROWS // 100)
    assert set(in_set.samples) == {"Z"}
    assert unique.success and unique.unexpected_count == 0
    assert rows.success and rows.observed_value == str(ROWS)


def test_the_bridge_installs_the_buffered_engine():
    from orchestration.quality import DuckDBWarehouseDatasource

    source = DuckDBWarehouseDatasource(name="w", connection_string="duckdb:///:memory:")
    assert source.execution_engine_type is BufferedSqlAlchemyExecutionEngine


def test_sql_conditions_run_in_duckdb_with_regex_braces_and_samples(warehouse):
    fmt, per_group, metric = _run(
        warehouse,
        ExpectRowsToSatisfyCondition(
            condition="v is null or regexp_full_match(v, 'x[0-9]{1,3}')",
            mostly=0.5,
            sample_column="v",
            meta=expectation_meta("v_format", "validity", "WARN"),
        ),
        ExpectRowsToSatisfyCondition(
            rows_query="select id % 7 as k, count(*) as n from batch_rows group by 1",
            condition="n > 0",
            meta=expectation_meta("groups_filled", "consistency", "ERROR"),
        ),
        ExpectQueryValueToMeetThreshold(
            metric_query="select 100.0 * count(*) filter (where v is null) / count(*) "
            "from batch_rows",
            operator="mustBeLessOrEqualTo",
            threshold=5,
            unit="percent",
            meta=expectation_meta("v_missing_share", "completeness", "WARN"),
        ),
    )
    # 'x1'..'x999' match, minus the nulls among them; everything from 1000 up does not.
    assert fmt.error is None and not fmt.success
    assert fmt.element_count == ROWS
    assert fmt.unexpected_count == sum(1 for i in range(1000, ROWS) if i % 10)
    assert len(fmt.samples) == 5 and all(len(s) >= 5 for s in fmt.samples)
    assert per_group.success and per_group.element_count == 7
    assert not metric.success and metric.unexpected_percent == pytest.approx(10.0)


def test_a_gx_internal_error_is_a_failed_check_carrying_the_message(warehouse):
    (outcome,) = _run(
        warehouse,
        ExpectRowsToSatisfyCondition(
            condition="no_such_column > 0", meta=expectation_meta("broken", "validity", "WARN")
        ),
    )
    assert not outcome.success
    assert "no_such_column" in outcome.error
    assert outcome.score is None

    result = check_result(dg.AssetKey(["s", "t"]), outcome)
    assert not result.passed
    assert "could not evaluate" in result.description
    assert "no_such_column" in result.metadata["platform_error"].value


class _Result:
    """A stand-in for GX's ExpectationValidationResult (the fields the bridge reads)."""

    def __init__(self, success, result, exception_info):
        self.success, self.result, self.exception_info = success, result, exception_info


def test_an_empty_failed_result_is_a_platform_error_never_a_pass_or_finding():
    spec = check_specs(
        gx.ExpectationSuite(
            name="x",
            expectations=[
                gxe.ExpectTableRowCountToBeBetween(
                    min_value=1, meta=expectation_meta("rows", "completeness", "ERROR")
                )
            ],
        )
    )[0]
    per_metric = {
        "MetricConfigurationID(table.row_count)": {
            "raised_exception": True,
            "exception_message": "list index out of range",
            "exception_traceback": "...",
        }
    }
    lost = outcome_from_result(spec, _Result(False, {}, per_metric))
    assert not lost.success and lost.error == "list index out of range"
    silent = outcome_from_result(spec, _Result(False, {}, {"raised_exception": False}))
    assert not silent.success and "empty result" in silent.error


def test_samples_of_direct_identifiers_are_masked():
    spec = check_specs(
        gx.ExpectationSuite(
            name="x",
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(
                    column="nhs_number",
                    meta=expectation_meta("nhs", "validity", "ERROR", mask_samples=True),
                )
            ],
        )
    )[0]
    outcome = outcome_from_result(
        spec,
        _Result(False, {"partial_unexpected_list": ["9434765918"], "unexpected_count": 1}, {}),
    )
    assert outcome.samples == ("943*******",)


def test_every_expectation_needs_one_gdqf_dimension_and_a_severity():
    with pytest.raises(GXBridgeError, match="dimension"):
        check_specs(
            gx.ExpectationSuite(
                name="x",
                expectations=[
                    gxe.ExpectTableRowCountToBeBetween(
                        min_value=1,
                        meta={"check_name": "rows", "dimension": "conformity", "severity": "ERROR"},
                    )
                ],
            )
        )
    with pytest.raises(GXBridgeError, match="severity"):
        expectation_meta("rows", "completeness", "CRITICAL")


def test_data_docs_keep_a_bounded_history(warehouse, tmp_path):
    workspace = GXWorkspace(docs_dir=tmp_path / "docs", store_dir=tmp_path / "store", history=2)
    expectation = gxe.ExpectTableRowCountToBeBetween(
        min_value=1, meta=expectation_meta("rows", "completeness", "ERROR")
    )
    for run in ("run-a", "run-b", "run-c"):
        suite = gx.ExpectationSuite(name="s.t", expectations=[expectation])
        validate(
            database=warehouse,
            connection_config={"memory_limit": "1GB"},
            dataset="s.t",
            relation_sql="select * from s.t",
            suite=suite,
            run_name=run,
            workspace=workspace,
        )
    index = workspace.build_docs()
    assert index.exists() and "s.t" in index.read_text(encoding="utf-8")
    # GX stores suite "s.t" under s/t/<run name>/.
    kept = sorted(p.name for p in (tmp_path / "store" / "validations" / "s" / "t").iterdir())
    assert kept == ["run-b", "run-c"]
    pages = sorted(p.name for p in (tmp_path / "docs" / "validations" / "s" / "t").iterdir())
    assert pages == ["run-b", "run-c"]


def test_a_rule_that_slips_past_the_contract_parser_cannot_read_a_file(warehouse, tmp_path):
    # Defence in depth (issue 12): the bridge's connections run with DuckDB's external access
    # disabled and the configuration locked, so read_text never reaches the file.
    secret = tmp_path / "environ"
    secret.write_text("COMMONGROUND_PSEUDONYM_KEY=hunter2", encoding="utf-8")
    (leak,) = _run(
        warehouse,
        ExpectQueryValueToMeetThreshold(
            metric_query=f"select length(content) from read_text('{secret}')",
            operator="mustBeGreaterThan",
            threshold=0,
            meta=expectation_meta("leak", "validity", "ERROR"),
        ),
    )
    assert not leak.success
    assert "disabled by configuration" in (leak.error or "")
    assert "hunter2" not in f"{leak.observed_value} {leak.error}"


def test_the_sandbox_cannot_be_unlocked_by_a_rule_and_ends_with_the_bridge(warehouse, tmp_path):
    (unlock,) = _run(
        warehouse,
        ExpectQueryValueToMeetThreshold(
            metric_query="select count(*) from batch_rows where "
            "current_setting('enable_external_access')",
            operator="mustBe",
            threshold=0,
            meta=expectation_meta("external_access_off", "validity", "ERROR"),
        ),
    )
    assert unlock.success and unlock.error is None
    # The settings belong to the bridge's database instance: once it is released, a fresh
    # warehouse connection (ingestion reads files) has external access again.
    landed = tmp_path / "landed.csv"
    landed.write_text("a\n1\n", encoding="utf-8")
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select count(*) from read_csv(?)", [str(landed)]).fetchone()[0] == 1
