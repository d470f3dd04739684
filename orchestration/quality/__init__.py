"""Data quality: Great Expectations suites run in the warehouse, results as governance data.

- :mod:`~orchestration.quality.gx_bridge`: runs GX 1.x suites against DuckDB through SQL
  and turns each expectation's result into a plain :class:`ExpectationOutcome`.
- :mod:`~orchestration.quality.expectations`: the custom expectations that run format and
  contract ``sql`` rules as one DuckDB query each.
- :mod:`~orchestration.quality.suites`: suites generated from contracts and the
  hand-written suites under ``expectations/suites/``.
- :mod:`~orchestration.quality.outlines`: each hand-written suite's checks and targets,
  kept beside the dbt manifest so that loading the code location does not build suites.
- :mod:`~orchestration.quality.reuse`: a raw table's checks report their earlier outcome
  again while the batch, contract and code they judge are unchanged.
- :mod:`~orchestration.quality.results`: the append-only results history, the GDQF
  scorecard and the plain-English quality declarations.
- :mod:`~orchestration.quality.timeliness`: delivery freshness against a contract's SLA.
- :mod:`~orchestration.quality.resource`: the Dagster resource that runs suites.

Names are resolved on first use (PEP 562): importing Great Expectations takes seconds, and
only the steps that validate should pay for it, not every load of the code location.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BufferedSqlAlchemyExecutionEngine": "gx_bridge",
    "CheckSpec": "gx_bridge",
    "DuckDBWarehouseDatasource": "gx_bridge",
    "GXBridgeError": "gx_bridge",
    "GXWorkspace": "gx_bridge",
    "check_specs": "gx_bridge",
    "expectation_meta": "gx_bridge",
    "outcome_from_result": "gx_bridge",
    "suite_targets": "gx_bridge",
    "validate": "gx_bridge",
    "ExpectQueryValueToMeetThreshold": "expectations",
    "ExpectRowsToSatisfyCondition": "expectations",
    "ExpectationOutcome": "outcome",
    "GreatExpectationsResource": "resource",
    "JudgedInputs": "reuse",
    "input_key": "reuse",
    "state_dir_of": "reuse",
    "ScorecardRow": "results",
    "build_scorecard": "results",
    "declaration_markdown": "results",
    "ensure_results_table": "results",
    "latest_results": "results",
    "read_scorecard": "results",
    "record_outcomes": "results",
    "write_declarations": "results",
    "SuiteOutline": "outlines",
    "suite_outlines": "outlines",
    "SuiteSource": "suites",
    "contract_suite": "suites",
    "load_suite": "suites",
    "load_suites": "suites",
    "raw_relation_sql": "suites",
    "relation_sql": "suites",
    "rule_expectation": "suites",
    "suite_paths": "suites",
    "CHECK_NAME": "timeliness",
    "allowed_age_days": "timeliness",
    "delivery_freshness": "timeliness",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
