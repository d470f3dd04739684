"""Common Ground's custom Great Expectations expectations, each computed in one DuckDB query.

GX's regex expectations are not implemented for DuckDB; format rules are written as SQL
conditions with :class:`ExpectRowsToSatisfyCondition`, and contract ``sql`` rules run with
:class:`ExpectQueryValueToMeetThreshold`. Defining a class registers it with GX.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.compatibility import pydantic
from great_expectations.expectations import UnexpectedRowsExpectation

SAMPLE_SIZE = 5

_COMPARATORS = {
    "mustBe": lambda v, t: v == t,
    "mustNotBe": lambda v, t: v != t,
    "mustBeGreaterThan": lambda v, t: v > t,
    "mustBeGreaterOrEqualTo": lambda v, t: v >= t,
    "mustBeLessThan": lambda v, t: v < t,
    "mustBeLessOrEqualTo": lambda v, t: v <= t,
    "mustBeBetween": lambda v, t: t[0] <= v <= t[1],
    "mustNotBeBetween": lambda v, t: not t[0] <= v <= t[1],
}


def _escape_braces(sql: str) -> str:
    # GX formats queries with str.format; regex quantifiers like {6} must survive it.
    return sql.replace("{", "{{").replace("}", "}}")


class ExpectRowsToSatisfyCondition(UnexpectedRowsExpectation):
    """Expect at least ``mostly`` of the rows to satisfy a SQL condition, computed in one query.

    The condition is DuckDB SQL over the columns of the rows judged; a row whose condition is
    false or null is unexpected. ``rows_query`` optionally derives the rows to judge from
    ``batch_rows`` (the batch), e.g. one row per person; by default the batch's rows are judged.
    The result carries ``element_count``, ``unexpected_count``, ``unexpected_percent`` and up to
    five sample values of ``sample_column``.
    """

    condition: str
    mostly: float = pydantic.Field(1.0, ge=0.0, le=1.0)
    rows_query: str | None = None
    sample_column: str | None = None
    unexpected_rows_query: str = ""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)
    success_keys: ClassVar[tuple[str, ...]] = ("unexpected_rows_query", "mostly")

    @pydantic.root_validator(pre=True)
    def _build_query(cls, values: dict[str, Any]) -> dict[str, Any]:
        condition = values.get("condition")
        if not condition:
            raise ValueError("a condition is required")
        rows = values.get("rows_query") or "select * from batch_rows"
        unexpected = f"not coalesce(({condition}), false)"
        sample = values.get("sample_column")
        sample_sql = (
            f"(select list(cast(s as varchar)) from (select {sample} as s from judged "
            f"where {unexpected} and {sample} is not null limit {SAMPLE_SIZE}))"
            if sample
            else "cast(null as varchar[])"
        )
        query = (
            f"with batch_rows as (select * from {{batch}}), judged as ({_escape_braces(rows)}) "
            f"select count(*) as element_count, "
            f"count(*) filter (where {_escape_braces(unexpected)}) as unexpected_count, "
            f"{_escape_braces(sample_sql)} as samples from judged"
        )
        return {**values, "unexpected_rows_query": query}

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None):
        rows = metrics["unexpected_rows_query.table"]
        if not rows:
            # The aggregate always returns one row: none means the result was lost. An empty
            # failed result is reported as a platform error, never as a pass.
            return {"success": False, "result": {}}
        row = rows[0]
        element_count = int(row.get("element_count") or 0)
        unexpected_count = int(row.get("unexpected_count") or 0)
        percent = 100.0 * unexpected_count / element_count if element_count else 0.0
        success = element_count == 0 or (1 - unexpected_count / element_count) >= self.mostly
        return {
            "success": success,
            "result": {
                "element_count": element_count,
                "unexpected_count": unexpected_count,
                "unexpected_percent": percent,
                "observed_value": f"{percent:.2f}% unexpected",
                "partial_unexpected_list": list(row.get("samples") or []),
            },
        }


class ExpectQueryValueToMeetThreshold(UnexpectedRowsExpectation):
    """Expect a scalar SQL metric over the batch to meet an ODCS operator and threshold.

    ``metric_query`` is a DuckDB query returning one value, reading the batch as ``batch_rows``
    (a contract's ``${table}``). With ``unit: percent`` and an upper-bound operator the value is
    read as the percentage of rows that break the rule.
    """

    metric_query: str
    operator: str
    threshold: Any
    unit: str = "rows"
    unexpected_rows_query: str = ""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)
    success_keys: ClassVar[tuple[str, ...]] = ("unexpected_rows_query", "operator", "threshold")

    @pydantic.root_validator(pre=True)
    def _build_query(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("operator") not in _COMPARATORS:
            raise ValueError(f"unknown operator {values.get('operator')!r}")
        metric = _escape_braces(str(values.get("metric_query") or ""))
        query = f"with batch_rows as (select * from {{batch}}) select ({metric}) as observed_value"
        return {**values, "unexpected_rows_query": query}

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None):
        rows = metrics["unexpected_rows_query.table"]
        value = rows[0].get("observed_value") if rows else None
        if value is None:
            return {"success": False, "result": {}}
        value = float(value)
        result: dict[str, Any] = {"observed_value": round(value, 4)}
        if self.unit == "percent" and self.operator in {"mustBeLessThan", "mustBeLessOrEqualTo"}:
            result["unexpected_percent"] = value
        return {
            "success": bool(_COMPARATORS[self.operator](value, self.threshold)),
            "result": result,
        }
